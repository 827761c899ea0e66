#include "hilt/transport/usb.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <libusb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <cctype>
#include <charconv>
#include <fstream>

#include "hilt/log.hpp"

namespace hilt::usb {

namespace {

std::error_code code(errc e) {
  return make_error_code(e);
}

std::shared_ptr<spdlog::logger> lg() {
  return log::get("usb");
}

// One attribute of a USB device in sysfs ("/sys/bus/usb/devices/1-4.2/serial"), trimmed; empty
// when unreadable. Readable by everyone on Linux, so serials show without device permissions.
std::string sysfs_attr(const std::string& port, const char* attr) {
  if (port.empty()) return {};
  std::ifstream f("/sys/bus/usb/devices/" + port + "/" + attr);
  std::string s;
  if (!f || !std::getline(f, s)) return {};
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' '))
    s.pop_back();
  return s;
}

std::string port_of(libusb_device* dev) {
  std::uint8_t ports[8];
  const int n = libusb_get_port_numbers(dev, ports, 8);
  const auto bus = libusb_get_bus_number(dev);
  if (n <= 0) return fmt::format("usb{}", bus);
  std::string s = fmt::format("{}-{}", bus, ports[0]);
  for (int i = 1; i < n; ++i)
    s += fmt::format(".{}", ports[i]);
  return s;
}

std::string string_descriptor(libusb_device_handle* h, std::uint8_t index) {
  if (index == 0) return {};
  unsigned char buf[256];
  const int n = libusb_get_string_descriptor_ascii(h, index, buf, sizeof buf);
  if (n <= 0) return {};
  return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

struct config_ptr {
  libusb_config_descriptor* p = nullptr;
  ~config_ptr() {
    if (p) libusb_free_config_descriptor(p);
  }
};

bool load_config(libusb_device* dev, config_ptr& c) {
  if (libusb_get_active_config_descriptor(dev, &c.p) == 0 && c.p) return true;
  c.p = nullptr;
  return libusb_get_config_descriptor(dev, 0, &c.p) == 0 && c.p;
}

std::optional<std::uint16_t> parse_hex16(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

}  // namespace

// ---- errors ---------------------------------------------------------------------------------

std::error_code map_error(int e) noexcept {
  if (e >= 0) return {};
  switch (e) {
    case LIBUSB_ERROR_TIMEOUT:
      return code(errc::timeout);
    case LIBUSB_ERROR_NO_DEVICE:
      return code(errc::disconnected);
    case LIBUSB_ERROR_NOT_FOUND:
      return code(errc::device_not_found);
    case LIBUSB_ERROR_OVERFLOW:
      return code(errc::bad_reply);
    case LIBUSB_ERROR_INTERRUPTED:
      return code(errc::cancelled);
    case LIBUSB_ERROR_INVALID_PARAM:
      return code(errc::invalid_argument);
    case LIBUSB_ERROR_NOT_SUPPORTED:
      return code(errc::not_supported);
    default:  // ACCESS, BUSY, IO, PIPE, NO_MEM, OTHER
      return code(errc::io_error);
  }
}

std::error_code map_transfer_status(int status) noexcept {
  switch (status) {
    case LIBUSB_TRANSFER_COMPLETED:
      return {};
    case LIBUSB_TRANSFER_TIMED_OUT:
      return code(errc::timeout);
    case LIBUSB_TRANSFER_CANCELLED:
      return code(errc::cancelled);
    case LIBUSB_TRANSFER_NO_DEVICE:
      return code(errc::disconnected);
    case LIBUSB_TRANSFER_OVERFLOW:
      return code(errc::bad_reply);
    default:  // STALL, ERROR
      return code(errc::io_error);
  }
}

std::string error_text(int e) {
  return fmt::format("{} ({})", libusb_error_name(e), libusb_strerror(e));
}

const char* transfer_status_text(int status) noexcept {
  switch (status) {
    case LIBUSB_TRANSFER_COMPLETED:
      return "completed";
    case LIBUSB_TRANSFER_TIMED_OUT:
      return "timed out";
    case LIBUSB_TRANSFER_CANCELLED:
      return "cancelled";
    case LIBUSB_TRANSFER_STALL:
      return "stalled (the device halted the endpoint)";
    case LIBUSB_TRANSFER_NO_DEVICE:
      return "device gone (unplugged)";
    case LIBUSB_TRANSFER_OVERFLOW:
      return "overflow (the device sent more than asked)";
    default:
      return "failed";
  }
}

std::string permission_hint() {
  return "permission denied — install the udev rule shipped with hilt "
         "(sudo cp scripts/udev/70-hilt-usb.rules /etc/udev/rules.d/ && sudo udevadm control "
         "--reload && sudo udevadm trigger, then re-plug) and add your user to group plugdev; "
         "see docs/usb.md";
}

// ---- selector -------------------------------------------------------------------------------

selector selector::parse(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return config_error({}, fmt::format("bad {} selector '{}': {}", what, text, why));
  };
  selector s;
  s.text = std::string(text);
  if (text.empty()) throw bad("empty; expected SERIAL, '*', VID:PID or VID:PID:SERIAL");
  std::vector<std::string_view> parts;
  std::string_view rest = text;
  while (true) {
    const auto c = rest.find(':');
    parts.push_back(rest.substr(0, c));
    if (c == std::string_view::npos) break;
    rest = rest.substr(c + 1);
  }
  auto check_serial = [&](std::string_view ser) {
    if (ser == "*") return std::string();
    if (ser.empty()) throw bad("the serial number is empty (write '*' for any)");
    for (const char ch : ser) {
      if (!std::isprint(static_cast<unsigned char>(ch)) || ch == ' ' || ch == ',') {
        throw bad("the serial number holds a character that is not printable ASCII");
      }
    }
    return std::string(ser);
  };
  if (parts.size() == 1) {
    s.serial = check_serial(parts[0]);
    return s;
  }
  if (parts.size() > 3) throw bad("too many ':'; expected VID:PID[:SERIAL]");
  s.vid = parse_hex16(parts[0]);
  s.pid = parse_hex16(parts[1]);
  if (!s.vid || !s.pid) {
    throw bad("VID and PID are 1-4 hex digits, e.g. 10c4:ea90 (or give only the serial number)");
  }
  if (parts.size() == 3) s.serial = check_serial(parts[2]);
  return s;
}

std::string device_info::where() const {
  return fmt::format("bus {} device {} (port {})", bus, address, port);
}

// ---- device kinds ---------------------------------------------------------------------------

const device_kind& cp2112_kind() {
  static const device_kind k{
      "cp2112", "CP2112 bridge", std::uint16_t{0x10C4}, std::uint16_t{0xEA90},
      [](const void* d, const void* c) -> int {
        const auto* desc = static_cast<const libusb_device_descriptor*>(d);
        const auto* cfg = static_cast<const libusb_config_descriptor*>(c);
        if (desc->idVendor != 0x10C4 || desc->idProduct != 0xEA90 || !cfg) return -1;
        // The HID interface (class 3); a CP2112 has exactly one.
        for (int i = 0; i < cfg->bNumInterfaces; ++i) {
          const auto& itf = cfg->interface[i];
          if (itf.num_altsetting > 0 && itf.altsetting[0].bInterfaceClass == LIBUSB_CLASS_HID) {
            return itf.altsetting[0].bInterfaceNumber;
          }
        }
        return -1;
      }};
  return k;
}

const device_kind& usbtmc_kind() {
  static const device_kind k{"usbtmc", "USBTMC instrument", std::nullopt, std::nullopt,
                             [](const void*, const void* c) -> int {
                               const auto* cfg = static_cast<const libusb_config_descriptor*>(c);
                               if (!cfg) return -1;
                               // USBTMC: application-specific class FEh, subclass 03h (USBTMC 1.0
                               // §4.2.1).
                               for (int i = 0; i < cfg->bNumInterfaces; ++i) {
                                 const auto& itf = cfg->interface[i];
                                 if (itf.num_altsetting > 0 &&
                                     itf.altsetting[0].bInterfaceClass == 0xFE &&
                                     itf.altsetting[0].bInterfaceSubClass == 0x03) {
                                   return itf.altsetting[0].bInterfaceNumber;
                                 }
                               }
                               return -1;
                             }};
  return k;
}

// ---- context --------------------------------------------------------------------------------

result<std::shared_ptr<context>> context::get(std::string* why) {
  static std::mutex m;
  static std::weak_ptr<context> current;
  std::lock_guard lk(m);
  if (auto c = current.lock()) return c;
  std::shared_ptr<context> c(new context());
  const int r = libusb_init(&c->ctx_);
  if (r != 0) {
    c->ctx_ = nullptr;
    if (why) *why = fmt::format("cannot initialise libusb: {}", error_text(r));
    return failure(code(errc::io_error));
  }
  c->events_ = std::thread([p = c.get()] { p->event_loop(); });
  c->worker_ = std::thread([p = c.get()] { p->worker_loop(); });
  current = c;
  return c;
}

context::~context() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  events_cv_.notify_all();
  jobs_cv_.notify_all();
  // Users never hand the last reference to these threads (transports hold their context), so
  // the destructor runs elsewhere; detach rather than deadlock if that is ever broken.
  for (auto* t : {&events_, &worker_}) {
    if (!t->joinable()) continue;
    if (t->get_id() == std::this_thread::get_id()) {
      t->detach();
    } else {
      t->join();
    }
  }
  if (ctx_) libusb_exit(ctx_);
}

asio::any_io_executor context::tracked(const asio::any_io_executor& ex) {
  return asio::prefer(ex, asio::execution::outstanding_work.tracked);
}

void context::post_job(asio::any_io_executor done_on, std::function<void()> job,
                       std::shared_ptr<std::optional<asio::any_completion_handler<void()>>> done) {
  {
    std::lock_guard lk(mu_);
    jobs_.push_back([done_on = std::move(done_on), job = std::move(job), done]() {
      try {
        job();
      } catch (const std::exception& e) {
        lg()->error("usb worker: {}", e.what());
      }
      asio::post(done_on, [done]() {
        auto h = std::move(**done);
        done->reset();
        std::move(h)();
      });
    });
  }
  jobs_cv_.notify_one();
}

void context::worker_loop() {
  std::unique_lock lk(mu_);
  while (true) {
    jobs_cv_.wait(lk, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stop_ and nothing left
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job();
    lk.lock();
  }
}

void context::event_loop() {
  std::unique_lock lk(mu_);
  while (true) {
    events_cv_.wait(lk, [&] { return stop_ || in_flight_ > 0; });
    if (in_flight_ == 0) return;  // stop_
    lk.unlock();
    // Bounded wait: a transfer's own timeout (libusb's timerfd) or its completion wakes it.
    timeval tv{0, 100000};
    libusb_handle_events_timeout_completed(ctx_, &tv, nullptr);
    lk.lock();
  }
}

void context::begin_transfer() {
  {
    std::lock_guard lk(mu_);
    ++in_flight_;
  }
  events_cv_.notify_one();
}

void context::end_transfer() {
  std::lock_guard lk(mu_);
  --in_flight_;
}

namespace {

struct handle_ptr {
  libusb_device_handle* h = nullptr;
  ~handle_ptr() {
    if (h) libusb_close(h);
  }
};

struct list_ptr {
  libusb_device** l = nullptr;
  ~list_ptr() {
    if (l) libusb_free_device_list(l, 1);
  }
};

struct candidate {
  libusb_device* dev = nullptr;
  device_info info;
};

// Every device of `kind` whose ids fit `sel` (ids only), with what sysfs says about it.
std::vector<candidate> candidates(libusb_context* ctx, const device_kind& kind, list_ptr& list,
                                  const selector* sel) {
  std::vector<candidate> out;
  const ssize_t n = libusb_get_device_list(ctx, &list.l);
  for (ssize_t i = 0; i < n; ++i) {
    libusb_device* dev = list.l[i];
    libusb_device_descriptor desc{};
    if (libusb_get_device_descriptor(dev, &desc) != 0) continue;
    if (sel && !sel->matches_ids(desc.idVendor, desc.idProduct)) continue;
    config_ptr cfg;
    if (!load_config(dev, cfg)) continue;
    const int itf = kind.match(&desc, cfg.p);
    if (itf < 0) continue;
    candidate c;
    c.dev = dev;
    c.info.bus = libusb_get_bus_number(dev);
    c.info.address = libusb_get_device_address(dev);
    c.info.port = port_of(dev);
    c.info.vid = desc.idVendor;
    c.info.pid = desc.idProduct;
    c.info.interface = itf;
    c.info.kind = kind.name;
    c.info.serial = sysfs_attr(c.info.port, "serial");
    c.info.manufacturer = sysfs_attr(c.info.port, "manufacturer");
    c.info.product = sysfs_attr(c.info.port, "product");
    out.push_back(std::move(c));
  }
  std::sort(out.begin(), out.end(), [](const candidate& a, const candidate& b) {
    return std::tie(a.info.bus, a.info.address) < std::tie(b.info.bus, b.info.address);
  });
  return out;
}

// Reads the strings sysfs did not give, from the device itself. Sets info.problem when the device
// cannot be opened.
void fill_strings(candidate& c) {
  if (!c.info.serial.empty() && !c.info.product.empty()) return;
  handle_ptr h;
  const int r = libusb_open(c.dev, &h.h);
  if (r != 0) {
    h.h = nullptr;
    c.info.problem = r == LIBUSB_ERROR_ACCESS ? permission_hint()
                                              : fmt::format("cannot open: {}", error_text(r));
    return;
  }
  libusb_device_descriptor desc{};
  libusb_get_device_descriptor(c.dev, &desc);
  if (c.info.serial.empty()) c.info.serial = string_descriptor(h.h, desc.iSerialNumber);
  if (c.info.manufacturer.empty()) c.info.manufacturer = string_descriptor(h.h, desc.iManufacturer);
  if (c.info.product.empty()) c.info.product = string_descriptor(h.h, desc.iProduct);
}

std::string describe_selector(const device_kind& kind, const selector& sel) {
  std::string s = kind.description;
  if (sel.vid || kind.default_vid) {
    s += fmt::format(" {:04x}:{:04x}", sel.vid.value_or(kind.default_vid.value_or(0)),
                     sel.pid.value_or(kind.default_pid.value_or(0)));
  }
  if (!sel.serial.empty()) s += fmt::format(" with serial '{}'", sel.serial);
  return s;
}

}  // namespace

std::vector<device_info> context::list(const device_kind& kind) {
  list_ptr l;
  auto cs = candidates(ctx_, kind, l, nullptr);
  std::vector<device_info> out;
  for (auto& c : cs) {
    fill_strings(c);
    out.push_back(std::move(c.info));
  }
  return out;
}

result<std::shared_ptr<device>> context::open(const device_kind& kind, const selector& sel,
                                              std::string* why) {
  auto say = [&](std::string text) {
    if (why) *why = std::move(text);
  };
  list_ptr l;
  auto cs = candidates(ctx_, kind, l, &sel);
  std::vector<candidate*> fit;
  std::vector<std::string> seen;
  for (auto& c : cs) {
    if (c.info.serial.empty()) fill_strings(c);
    seen.push_back(c.info.serial.empty()
                       ? fmt::format("{:04x}:{:04x} at {} ({})", c.info.vid, c.info.pid,
                                     c.info.where(),
                                     c.info.problem.empty() ? "no serial" : "cannot be opened")
                       : fmt::format("'{}'", c.info.serial));
    if (sel.matches_serial(c.info.serial) && (!c.info.serial.empty() || sel.serial.empty())) {
      fit.push_back(&c);
    }
  }
  const std::string wanted = describe_selector(kind, sel);
  if (fit.empty()) {
    const std::string attached =
        seen.empty() ? "none attached" : fmt::format("attached: {}", fmt::join(seen, ", "));
    // A device we could not open may well be the one: say so rather than "not found".
    for (auto& c : cs) {
      if (!c.info.problem.empty() && c.info.serial.empty()) {
        say(fmt::format("no {} found; {} at {} cannot be read: {}", wanted, kind.description,
                        c.info.where(), c.info.problem));
        return failure(code(errc::io_error));
      }
    }
    say(fmt::format("no {} found ({})", wanted, attached));
    return failure(code(errc::device_not_found));
  }
  if (fit.size() > 1) {
    say(fmt::format("several {}s match '{}' ({}): name one by its serial number", kind.description,
                    sel.text, fmt::join(seen, ", ")));
    return failure(code(errc::invalid_argument));
  }
  candidate& c = *fit.front();
  handle_ptr h;
  if (const int r = libusb_open(c.dev, &h.h); r != 0) {
    h.h = nullptr;
    if (r == LIBUSB_ERROR_ACCESS) {
      say(fmt::format("cannot open {} at {}: {}", wanted, c.info.where(), permission_hint()));
      return failure(code(errc::io_error));
    }
    say(fmt::format("cannot open {} at {}: {}", wanted, c.info.where(), error_text(r)));
    return failure(map_error(r));
  }
  bool detached = false;
  const int active = libusb_kernel_driver_active(h.h, c.info.interface);
  if (active == 1) {
    if (const int r = libusb_detach_kernel_driver(h.h, c.info.interface); r != 0) {
      say(fmt::format("{} at {}: a kernel driver holds interface {} and cannot be detached: {}{}",
                      wanted, c.info.where(), c.info.interface, error_text(r),
                      r == LIBUSB_ERROR_ACCESS ? " — " + permission_hint() : std::string()));
      return failure(map_error(r) == code(errc::disconnected) ? code(errc::disconnected)
                                                              : code(errc::io_error));
    }
    detached = true;
    lg()->info("{} at {}: detached the kernel driver from interface {} (re-attached on close)",
               wanted, c.info.where(), c.info.interface);
  } else if (active < 0 && active != LIBUSB_ERROR_NOT_SUPPORTED) {
    say(fmt::format("cannot open {} at {}: {}", wanted, c.info.where(), error_text(active)));
    return failure(map_error(active));
  }
  if (const int r = libusb_claim_interface(h.h, c.info.interface); r != 0) {
    say(fmt::format(
        "cannot claim interface {} of {} at {}: {}{}", c.info.interface, wanted, c.info.where(),
        error_text(r),
        r == LIBUSB_ERROR_BUSY ? " — another program (or kernel driver) uses it" : std::string()));
    if (detached) libusb_attach_kernel_driver(h.h, c.info.interface);
    return failure(r == LIBUSB_ERROR_NO_DEVICE ? code(errc::disconnected) : code(errc::io_error));
  }
  // Strings the device itself reports win over sysfs (they are what it is now).
  libusb_device_descriptor desc{};
  libusb_get_device_descriptor(c.dev, &desc);
  if (c.info.manufacturer.empty()) c.info.manufacturer = string_descriptor(h.h, desc.iManufacturer);
  if (c.info.product.empty()) c.info.product = string_descriptor(h.h, desc.iProduct);
  std::shared_ptr<device> d(new device(shared_from_this(), h.h, c.info, detached));
  h.h = nullptr;
  config_ptr cfg;
  if (load_config(c.dev, cfg)) {
    for (int i = 0; i < cfg.p->bNumInterfaces; ++i) {
      const auto& itf = cfg.p->interface[i];
      if (itf.num_altsetting < 1 || itf.altsetting[0].bInterfaceNumber != c.info.interface)
        continue;
      for (int e = 0; e < itf.altsetting[0].bNumEndpoints; ++e) {
        const auto& ep = itf.altsetting[0].endpoint[e];
        d->endpoints_.push_back({ep.bEndpointAddress,
                                 static_cast<transfer_type>(ep.bmAttributes & 0x03),
                                 ep.wMaxPacketSize});
      }
    }
  }
  return d;
}

// ---- device ---------------------------------------------------------------------------------

device::device(std::shared_ptr<context> ctx, libusb_device_handle* h, device_info info,
               bool reattach_kernel_driver)
    : ctx_(std::move(ctx)), handle_(h), info_(std::move(info)), reattach_(reattach_kernel_driver) {}

device::~device() {
  if (!handle_) return;
  if (!gone_) {
    libusb_release_interface(handle_, info_.interface);
    if (reattach_) libusb_attach_kernel_driver(handle_, info_.interface);
  }
  libusb_close(handle_);
}

std::uint8_t device::endpoint(transfer_type type, bool in) const noexcept {
  for (const auto& e : endpoints_) {
    if (e.type == type && ((e.address & 0x80) != 0) == in) return e.address;
  }
  return 0;
}

std::uint16_t device::max_packet(std::uint8_t ep) const noexcept {
  for (const auto& e : endpoints_) {
    if (e.address == ep) return e.max_packet;
  }
  return 64;
}

std::error_code device::note(std::error_code ec, std::string text) {
  if (ec == code(errc::disconnected)) gone_ = true;
  last_error_ = std::move(text);
  return ec;
}

struct device::transfer_op : std::enable_shared_from_this<device::transfer_op> {
  // Cancels the transfer when the awaiting coroutine is cancelled: it then completes as
  // LIBUSB_TRANSFER_CANCELLED (a no-op if it already completed — the transfer is freed only
  // after this slot is cleared).
  struct cancel_handler {
    std::weak_ptr<transfer_op> op;
    explicit cancel_handler(std::weak_ptr<transfer_op> o) : op(std::move(o)) {}
    void operator()(asio::cancellation_type) const {
      if (auto o = op.lock()) libusb_cancel_transfer(o->xfer);
    }
  };
  libusb_transfer* xfer = nullptr;
  std::vector<std::uint8_t> buf;
  int status = LIBUSB_TRANSFER_ERROR;
  int actual = 0;
  int submit_error = 0;
  std::optional<asio::any_completion_handler<void()>> handler;
  std::optional<asio::any_io_executor> work;  // keeps the caller's io_context busy meanwhile
  asio::cancellation_slot slot;
  context* ctx = nullptr;
  std::shared_ptr<transfer_op> self;  // held while libusb owns the transfer
  std::shared_ptr<device> dev;        // the handle stays open while the transfer lives
  ~transfer_op() {
    if (xfer) libusb_free_transfer(xfer);
  }

  void finish() {  // on the caller's executor
    if (slot.is_connected()) slot.clear();
    auto h = std::move(*handler);
    handler.reset();
    std::move(h)();
  }

  static void LIBUSB_CALL done(libusb_transfer* t) {  // on the event thread
    auto* raw = static_cast<transfer_op*>(t->user_data);
    std::shared_ptr<transfer_op> op = std::move(raw->self);
    op->status = t->status;
    op->actual = t->actual_length;
    op->ctx->end_transfer();
    auto ex = *op->work;
    asio::post(ex, [op = std::move(op)]() { op->finish(); });
  }
};

task<result<std::vector<std::uint8_t>>> device::submit(transfer_type type, std::uint8_t ep,
                                                       std::vector<std::uint8_t> buf,
                                                       std::size_t setup_length,
                                                       milliseconds timeout, const char* what) {
  if (gone_) {
    co_return failure(note(code(errc::disconnected),
                           fmt::format("{} at {}: the device is gone", what, info_.where())));
  }
  auto ex = co_await asio::this_coro::executor;
  auto op = std::make_shared<transfer_op>();
  op->xfer = libusb_alloc_transfer(0);
  if (!op->xfer) co_return failure(note(code(errc::io_error), "out of memory"));
  op->buf = std::move(buf);
  op->ctx = ctx_.get();
  op->dev = shared_from_this();
  libusb_transfer* x = op->xfer;
  x->dev_handle = handle_;
  x->endpoint = ep;
  x->type = static_cast<unsigned char>(type);
  x->timeout = static_cast<unsigned>(std::max<milliseconds::rep>(1, timeout.count()));
  x->buffer = op->buf.data();
  x->length = static_cast<int>(op->buf.size());
  x->callback = &transfer_op::done;
  x->user_data = op.get();
  // The initiation captures plain pointers only: g++ 12 may destroy a capturing temporary of a
  // co_await expression twice (a shared_ptr capture would be released twice).
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [p = op.get(), pex = &ex](auto handler) {
        p->slot = asio::get_associated_cancellation_slot(handler);
        p->work.emplace(context::tracked(*pex));
        p->handler.emplace(std::move(handler));
        if (p->slot.is_connected()) {
          p->slot.template emplace<transfer_op::cancel_handler>(p->weak_from_this());
        }
        p->self = p->shared_from_this();
        p->ctx->begin_transfer();
        const int r = libusb_submit_transfer(p->xfer);
        if (r != 0) {
          auto keep = std::move(p->self);
          p->submit_error = r;
          p->ctx->end_transfer();
          asio::post(*p->work, [keep]() { keep->finish(); });
        }
      },
      asio::use_awaitable);
  ++transfers_;
  const char* dir =
      (type == transfer_type::control ? (op->buf[0] & 0x80) : (ep & 0x80)) ? "IN" : "OUT";
  if (op->submit_error != 0) {
    co_return failure(note(map_error(op->submit_error),
                           fmt::format("{} ({} endpoint 0x{:02x}) at {}: cannot submit: {}", what,
                                       dir, ep, info_.where(), error_text(op->submit_error))));
  }
  if (op->status != LIBUSB_TRANSFER_COMPLETED) {
    auto ec = map_transfer_status(op->status);
    std::string text = fmt::format("{} ({} endpoint 0x{:02x}) at {}: {}", what, dir, ep,
                                   info_.where(), transfer_status_text(op->status));
    if (op->status == LIBUSB_TRANSFER_TIMED_OUT) {
      text += fmt::format(" after {} ms", timeout.count());
    }
    co_return failure(note(ec, std::move(text)));
  }
  std::vector<std::uint8_t> out = std::move(op->buf);
  const std::size_t got = static_cast<std::size_t>(std::max(op->actual, 0));
  if (setup_length > 0) {  // control: data follows the setup packet
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(setup_length));
  }
  out.resize(std::min(out.size(), got));
  co_return out;
}

task<result<std::size_t>> device::async_write(transfer_type type, std::uint8_t ep,
                                              std::vector<std::uint8_t> data,
                                              milliseconds timeout) {
  const std::size_t n = data.size();
  auto r = co_await submit(type, ep & 0x7F, std::move(data), 0, timeout, "write");
  if (!r) co_return failure(r.error());
  (void)n;
  co_return r.value().size();
}

task<result<std::vector<std::uint8_t>>> device::async_read(transfer_type type, std::uint8_t ep,
                                                           std::size_t length,
                                                           milliseconds timeout) {
  co_return co_await submit(type, static_cast<std::uint8_t>(ep | 0x80),
                            std::vector<std::uint8_t>(length), 0, timeout, "read");
}

task<result<std::vector<std::uint8_t>>> device::async_control(
    std::uint8_t request_type, std::uint8_t request, std::uint16_t value, std::uint16_t index,
    std::vector<std::uint8_t> data, std::uint16_t length, milliseconds timeout) {
  const bool in = (request_type & 0x80) != 0;
  const auto wlength = static_cast<std::uint16_t>(in ? length : data.size());
  std::vector<std::uint8_t> buf(LIBUSB_CONTROL_SETUP_SIZE + wlength);
  libusb_fill_control_setup(buf.data(), request_type, request, value, index, wlength);
  if (!in) std::copy(data.begin(), data.end(), buf.begin() + LIBUSB_CONTROL_SETUP_SIZE);
  co_return co_await submit(transfer_type::control, 0, std::move(buf), LIBUSB_CONTROL_SETUP_SIZE,
                            timeout, "control transfer");
}

result<std::vector<std::uint8_t>> device::control(std::uint8_t request_type, std::uint8_t request,
                                                  std::uint16_t value, std::uint16_t index,
                                                  std::span<const std::uint8_t> data,
                                                  std::uint16_t length, milliseconds timeout) {
  const bool in = (request_type & 0x80) != 0;
  std::vector<std::uint8_t> buf(in ? length : data.size());
  if (!in) std::copy(data.begin(), data.end(), buf.begin());
  const int r = libusb_control_transfer(handle_, request_type, request, value, index, buf.data(),
                                        static_cast<std::uint16_t>(buf.size()),
                                        static_cast<unsigned>(timeout.count()));
  if (r < 0) {
    return failure(
        note(map_error(r), fmt::format("control transfer 0x{:02x}/0x{:02x} at {}: {}", request_type,
                                       request, info_.where(), error_text(r))));
  }
  ++transfers_;
  buf.resize(in ? static_cast<std::size_t>(r) : 0);
  return buf;
}

result<std::size_t> device::write(transfer_type type, std::uint8_t ep,
                                  std::span<const std::uint8_t> data, milliseconds timeout) {
  std::vector<std::uint8_t> buf(data.begin(), data.end());
  int done = 0;
  const int r =
      type == transfer_type::bulk
          ? libusb_bulk_transfer(handle_, ep & 0x7F, buf.data(), static_cast<int>(buf.size()),
                                 &done, static_cast<unsigned>(timeout.count()))
          : libusb_interrupt_transfer(handle_, ep & 0x7F, buf.data(), static_cast<int>(buf.size()),
                                      &done, static_cast<unsigned>(timeout.count()));
  if (r != 0) {
    return failure(note(map_error(r), fmt::format("write (OUT endpoint 0x{:02x}) at {}: {}",
                                                  ep & 0x7F, info_.where(), error_text(r))));
  }
  ++transfers_;
  return static_cast<std::size_t>(done);
}

result<std::vector<std::uint8_t>> device::read(transfer_type type, std::uint8_t ep,
                                               std::size_t length, milliseconds timeout) {
  std::vector<std::uint8_t> buf(length);
  int done = 0;
  const auto in_ep = static_cast<unsigned char>(ep | 0x80);
  const int r =
      type == transfer_type::bulk
          ? libusb_bulk_transfer(handle_, in_ep, buf.data(), static_cast<int>(buf.size()), &done,
                                 static_cast<unsigned>(timeout.count()))
          : libusb_interrupt_transfer(handle_, in_ep, buf.data(), static_cast<int>(buf.size()),
                                      &done, static_cast<unsigned>(timeout.count()));
  if (r != 0) {
    return failure(note(map_error(r), fmt::format("read (IN endpoint 0x{:02x}) at {}: {}", in_ep,
                                                  info_.where(), error_text(r))));
  }
  ++transfers_;
  buf.resize(static_cast<std::size_t>(done));
  return buf;
}

std::error_code device::clear_halt(std::uint8_t ep) {
  const int r = libusb_clear_halt(handle_, ep);
  if (r != 0) {
    return note(map_error(r), fmt::format("clear halt of endpoint 0x{:02x} at {}: {}", ep,
                                          info_.where(), error_text(r)));
  }
  return {};
}

// ---- fifo_lock ------------------------------------------------------------------------------

task<std::shared_ptr<void>> fifo_lock::async_lock() {
  if (locked_) {
    auto ex = co_await asio::this_coro::executor;
    auto w = std::make_shared<waiter>(ex);
    waiters_.push_back(w);
    boost::system::error_code ec;
    try {
      co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    } catch (const boost::system::system_error&) {
    }
    if (!w->granted) {
      waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), w), waiters_.end());
      co_return std::shared_ptr<void>();
    }
  } else {
    locked_ = true;
  }
  co_return std::shared_ptr<void>(static_cast<void*>(this), [this](void*) { unlock(); });
}

void fifo_lock::unlock() noexcept {
  if (waiters_.empty()) {
    locked_ = false;
    return;
  }
  auto w = std::move(waiters_.front());
  waiters_.pop_front();
  w->granted = true;  // ownership passes straight to the first waiter
  w->timer.cancel();
}

}  // namespace hilt::usb
