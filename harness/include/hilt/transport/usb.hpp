// The libusb layer under hilt's USB transports: the CP2112 USB-to-SMBus bridge (usb_cp2112.hpp)
// and USBTMC instruments (usb_tmc.hpp). docs/usb.md describes the user-facing side.
//
//  - usb::context: one libusb context per process (usb::context::get()), with two threads of its
//    own. The event thread runs libusb's event handling while transfers are in flight (and sleeps
//    otherwise), so asynchronous transfers complete without the harness's io_context ever
//    blocking. The worker thread runs the calls libusb only offers blocking — enumeration, open,
//    kernel-driver detach, claim, string descriptors — for callers that must not block
//    (async_blocking()).
//  - usb::device: an opened device with one claimed interface. Its transfers are coroutines on
//    the caller's executor (libusb's asynchronous API underneath); every transfer carries a
//    timeout, and cancelling the awaiting coroutine (a watchdog, Ctrl-C) cancels the transfer.
//    Buffers belong to the transfer, never to the caller's frame.
//  - Errors are hilt::errc codes (map_error, map_transfer_status): a timeout is errc::timeout, a
//    device that went away errc::disconnected, a stalled endpoint errc::io_error, a device that
//    sent more than asked errc::bad_reply. Opening explains itself in words: permission denied
//    names the udev rule shipped in scripts/udev/ (permission_hint()).
//  - Devices are named by a selector: "SERIAL", "*" (the only one), "VID:PID" or "VID:PID:SERIAL"
//    (hex ids, "*" for any serial).
//
// No libusb type appears here: hilt_core links libusb privately.
#pragma once

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/error.hpp"

struct libusb_context;
struct libusb_device;
struct libusb_device_handle;

namespace hilt::usb {

using std::chrono::milliseconds;

// LIBUSB_ERROR_* -> errc: TIMEOUT timeout, NO_DEVICE disconnected, NOT_FOUND device_not_found,
// PIPE (stall) io_error, OVERFLOW bad_reply, INTERRUPTED cancelled, INVALID_PARAM
// invalid_argument, NOT_SUPPORTED not_supported, anything else (ACCESS, BUSY, IO, NO_MEM, OTHER)
// io_error. 0 or a positive count is success.
std::error_code map_error(int libusb_error) noexcept;
// libusb_transfer_status -> errc: COMPLETED success, TIMED_OUT timeout, CANCELLED cancelled,
// STALL io_error, NO_DEVICE disconnected, OVERFLOW bad_reply, ERROR io_error.
std::error_code map_transfer_status(int status) noexcept;
// "LIBUSB_ERROR_ACCESS (Access denied (insufficient permissions))".
std::string error_text(int libusb_error);
// "timed out", "stalled", "device gone", ... for a libusb_transfer_status.
const char* transfer_status_text(int status) noexcept;
// What to do about "permission denied": the udev rule and the group (one line).
std::string permission_hint();

// Which device: "SERIAL", "*", "VID:PID", "VID:PID:SERIAL", "VID:PID:*" (ids in hex, 1-4
// digits). An empty serial matches any. parse() throws config_error("bad <what> selector 'x':
// why") on anything else.
struct selector {
  std::optional<std::uint16_t> vid, pid;
  std::string serial;
  std::string text;  // as written
  static selector parse(std::string_view text, std::string_view what = "USB device");
  bool matches_ids(std::uint16_t v, std::uint16_t p) const noexcept {
    return (!vid || *vid == v) && (!pid || *pid == p);
  }
  bool matches_serial(std::string_view s) const noexcept { return serial.empty() || serial == s; }
};

// What hilt knows about an attached device of interest.
struct device_info {
  std::uint8_t bus = 0;
  std::uint8_t address = 0;
  std::string port;  // "1-4.2": the sysfs name, stable across re-plugs into the same socket
  std::uint16_t vid = 0, pid = 0;
  std::string manufacturer, product, serial;
  int interface = -1;   // the claimed (or, for a listing, the matching) interface
  std::string kind;     // "cp2112", "usbtmc"
  std::string problem;  // why it cannot be used (permissions, claimed elsewhere); empty when fine
  // "bus 1 device 5 (port 1-4.2)"
  std::string where() const;
};

// How a transport recognises its devices: the interface number to claim for a device, or -1
// when it is not one of them. `desc` is libusb's device descriptor, `config` its active
// configuration descriptor (both as libusb returns them; cast in the .cpp files).
struct device_kind {
  std::string name;         // "cp2112", "usbtmc"
  std::string description;  // "CP2112 bridge", "USBTMC instrument"
  std::optional<std::uint16_t> default_vid, default_pid;
  std::function<int(const void* desc, const void* config)> match;
};
const device_kind& cp2112_kind();
const device_kind& usbtmc_kind();

enum class transfer_type : std::uint8_t { control = 0, bulk = 2, interrupt = 3 };

class context;

// An opened device with one claimed interface. Created by context::open(). Thread-safety: its
// transfers are started from one executor (the transport's); the blocking calls are for open-time
// setup and run on the worker thread or before any transfer is started.
class device : public std::enable_shared_from_this<device> {
 public:
  ~device();
  device(const device&) = delete;
  device& operator=(const device&) = delete;

  const device_info& info() const noexcept { return info_; }
  // First endpoint of `type` on the claimed interface in direction IN (0x80) or OUT (0); 0 when
  // there is none.
  std::uint8_t endpoint(transfer_type type, bool in) const noexcept;
  std::uint16_t max_packet(std::uint8_t ep) const noexcept;

  // Asynchronous transfers, completing on the awaiting coroutine's executor. Each is bounded by
  // `timeout` (libusb's transfer timeout) and cancelled when the coroutine is. On failure
  // last_error() says what happened in words.
  task<result<std::size_t>> async_write(transfer_type type, std::uint8_t ep,
                                        std::vector<std::uint8_t> data, milliseconds timeout);
  task<result<std::vector<std::uint8_t>>> async_read(transfer_type type, std::uint8_t ep,
                                                     std::size_t length, milliseconds timeout);
  // A control transfer; bit 7 of request_type chooses the direction: IN reads up to `length`
  // bytes, OUT sends `data`.
  task<result<std::vector<std::uint8_t>>> async_control(std::uint8_t request_type,
                                                        std::uint8_t request, std::uint16_t value,
                                                        std::uint16_t index,
                                                        std::vector<std::uint8_t> data,
                                                        std::uint16_t length, milliseconds timeout);

  // Blocking counterparts (libusb's synchronous API), for open-time setup on the worker thread.
  result<std::vector<std::uint8_t>> control(std::uint8_t request_type, std::uint8_t request,
                                            std::uint16_t value, std::uint16_t index,
                                            std::span<const std::uint8_t> data,
                                            std::uint16_t length, milliseconds timeout);
  result<std::size_t> write(transfer_type type, std::uint8_t ep, std::span<const std::uint8_t> data,
                            milliseconds timeout);
  result<std::vector<std::uint8_t>> read(transfer_type type, std::uint8_t ep, std::size_t length,
                                         milliseconds timeout);
  std::error_code clear_halt(std::uint8_t ep);

  // True once a transfer or call found the device gone (unplugged): the handle is dead; the
  // transport drops it and opens the device again when it is back.
  bool gone() const noexcept { return gone_; }
  const std::string& last_error() const noexcept { return last_error_; }
  // Transfers completed so far (for benchmarks and tests).
  std::uint64_t transfers() const noexcept { return transfers_; }

 private:
  friend class context;
  struct transfer_op;
  device(std::shared_ptr<context> ctx, libusb_device_handle* h, device_info info,
         bool reattach_kernel_driver);
  task<result<std::vector<std::uint8_t>>> submit(transfer_type type, std::uint8_t ep,
                                                 std::vector<std::uint8_t> buf,
                                                 std::size_t setup_length, milliseconds timeout,
                                                 const char* what);
  std::error_code note(std::error_code ec, std::string text);

  std::shared_ptr<context> ctx_;
  libusb_device_handle* handle_;
  device_info info_;
  bool reattach_;
  struct ep_desc {
    std::uint8_t address;
    transfer_type type;
    std::uint16_t max_packet;
  };
  std::vector<ep_desc> endpoints_;
  bool gone_ = false;
  std::string last_error_;
  std::uint64_t transfers_ = 0;
};

class context : public std::enable_shared_from_this<context> {
 public:
  // The process-wide context, created on first use and destroyed with its last user. Fails (with
  // errc::io_error and `why`) when libusb cannot initialise.
  static result<std::shared_ptr<context>> get(std::string* why = nullptr);
  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  libusb_context* raw() const noexcept { return ctx_; }

  // Blocking: every attached device of `kind` (strings from sysfs where readable, else from the
  // device), in bus/address order.
  std::vector<device_info> list(const device_kind& kind);
  // Blocking: opens the one device of `kind` that `sel` names, detaches a kernel driver bound to
  // its interface (usbhid, usbtmc) and claims the interface. Failures: errc::device_not_found
  // (none attached; `why` lists what is), errc::invalid_argument (several match a selector
  // without a serial), errc::io_error (permission denied — `why` names the udev rule — or the
  // interface is claimed by another program).
  result<std::shared_ptr<device>> open(const device_kind& kind, const selector& sel,
                                       std::string* why = nullptr);

  // Runs `fn` on the worker thread and completes on the awaiting coroutine's executor, which
  // keeps outstanding work meanwhile. Not cancellable: `fn` must be bounded (every libusb call
  // in it carries a timeout).
  template <class T>
  task<T> async_blocking(std::function<T()> fn) {
    auto ex = co_await asio::this_coro::executor;
    auto out = std::make_shared<std::optional<T>>();
    // Plain pointers in the initiation: g++ 12 may destroy a capturing temporary of a co_await
    // expression twice.
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
        [this, pfn = &fn, pout = &out, pex = &ex](auto handler) {
          auto h = std::make_shared<std::optional<asio::any_completion_handler<void()>>>();
          h->emplace(std::move(handler));
          post_job(
              tracked(*pex), [o = *pout, f = std::move(*pfn)]() { o->emplace(f()); }, h);
        },
        asio::use_awaitable);
    if (!out->has_value()) throw std::runtime_error("usb worker job failed");
    co_return std::move(**out);
  }

 private:
  friend class device;
  context() = default;
  static asio::any_io_executor tracked(const asio::any_io_executor& ex);
  void post_job(asio::any_io_executor done_on, std::function<void()> job,
                std::shared_ptr<std::optional<asio::any_completion_handler<void()>>> done);
  void event_loop();
  void worker_loop();
  void begin_transfer();
  void end_transfer();

  libusb_context* ctx_ = nullptr;
  std::mutex mu_;
  std::condition_variable events_cv_, jobs_cv_;
  int in_flight_ = 0;
  bool stop_ = false;
  std::deque<std::function<void()>> jobs_;
  std::thread events_, worker_;
};

// A FIFO asynchronous mutex for one transport (one transaction on the wire at a time). Lives on
// one executor; the lock must outlive every guard.
class fifo_lock {
 public:
  // Completes with a guard that unlocks when destroyed, or with a null guard when the caller was
  // cancelled while waiting.
  task<std::shared_ptr<void>> async_lock();
  bool locked() const noexcept { return locked_; }

 private:
  struct waiter {
    explicit waiter(const asio::any_io_executor& ex)
        : timer(ex, asio::steady_timer::time_point::max()) {}
    asio::steady_timer timer;
    bool granted = false;
  };
  void unlock() noexcept;
  bool locked_ = false;
  std::deque<std::shared_ptr<waiter>> waiters_;
};

}  // namespace hilt::usb
