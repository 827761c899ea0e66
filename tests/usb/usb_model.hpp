// USB device models for CI without hardware, written against libumockdev's C API (umockdev 0.17).
//
// A usb::testbed is a umockdev sandbox (sysfs + /dev) in this process; plug() adds a device model
// to it: a sysfs entry with the model's descriptors and strings, and a /dev/bus/usb/BBB/DDD node
// whose ioctls (usbfs: SUBMITURB, REAPURB[NDELAY], DISCARDURB, CLAIMINTERFACE, GETDRIVER, ...)
// the model answers. libusb — in this process or in a child process started from it (the `hilt`
// binary) — then enumerates, opens and talks to the model exactly as to a device on a real bus:
// the real libusb code runs, byte for byte (DESIGN.md rule 1). Programs must run with
// libumockdev-preload.so loaded (umockdev-wrapper; see main.cpp).
//
// usb_model is the generic part of a device: URB bookkeeping (control transfers answered at once,
// OUT transfers handed to on_out(), IN transfers completed from the data the model queues, a
// discarded URB reaped with -ENOENT), string descriptors, a kernel driver that may be bound to the
// interface (and detached through USBDEVFS_IOCTL/DISCONNECT), and faults: a stalled endpoint,
// and unplugging (every ioctl then fails with ENODEV, as usbfs does after a disconnect).
//
// Threading: umockdev answers ioctls on its own thread; every model method locks the model.
#pragma once

#include <umockdev.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hilt::usbtest {

// True when this process runs with libumockdev-preload (else `why` says what to do).
bool umockdev_available(std::string* why);

struct setup_packet {
  std::uint8_t request_type = 0;
  std::uint8_t request = 0;
  std::uint16_t value = 0;
  std::uint16_t index = 0;
  std::uint16_t length = 0;
};

class testbed;

class usb_model {
 public:
  virtual ~usb_model();

  // Identity.
  virtual std::uint16_t vid() const = 0;
  virtual std::uint16_t pid() const = 0;
  // Device descriptor followed by the configuration descriptor set (sysfs "descriptors").
  virtual std::vector<std::uint8_t> descriptors() const = 0;
  std::string manufacturer, product, serial;  // string descriptors 1, 2, 3

  // A kernel driver bound to interface 0 ("usbhid", "usbtmc"; empty: none). While one is bound,
  // CLAIMINTERFACE fails with EBUSY, like the kernel.
  void bind_kernel_driver(std::string name);
  std::string kernel_driver() const;

  // Faults.
  // Halts `ep`: its transfers complete with -EPIPE until the host sends CLEAR_HALT.
  void stall_next(std::uint8_t ep);
  void unplug_after(int urbs);  // the device vanishes after `urbs` more URB submissions
  bool gone() const;

  // Counters.
  std::uint64_t urbs() const;  // URBs submitted
  std::uint64_t clear_halts() const;
  std::uint64_t claims() const;
  std::uint64_t detaches() const;  // kernel driver detached through USBDEVFS_DISCONNECT

 protected:
  struct control_reply {
    bool stall = false;
    std::vector<std::uint8_t> data;  // IN: the data stage (truncated to wLength)
  };
  // Class/vendor control requests and standard ones the base does not answer (called locked).
  virtual control_reply on_control(const setup_packet& s, std::span<const std::uint8_t> out) = 0;
  // Data of an OUT transfer on `ep` (called locked).
  virtual void on_out(std::uint8_t ep, std::span<const std::uint8_t> data) = 0;
  // A transfer on an IN endpoint was submitted (called locked): a model that answers on demand
  // queues data now.
  virtual void on_in_request(std::uint8_t ep) { (void)ep; }
  // The device was cleared or reset by the host (CLEAR_HALT on `ep`; called locked).
  virtual void on_clear_halt(std::uint8_t ep) { (void)ep; }

  // Data for the next IN transfer on `ep` (called locked): completes a waiting URB at once.
  void queue_in(std::uint8_t ep, std::vector<std::uint8_t> data);
  std::size_t queued_in(std::uint8_t ep) const;
  void drop_queued_in();
  // Halts `ep` (called locked): like stall_next().
  void halt(std::uint8_t ep) { stall_[ep] = 1; }

  mutable std::mutex mu_;

 private:
  friend class testbed;
  struct urb_ref;
  static gboolean on_ioctl(UMockdevIoctlBase* handler, UMockdevIoctlClient* client, gpointer self);
  // The handler of an earlier plug-in's device node: that node is dead (ENODEV), like the file a
  // program still holds after the device it named was unplugged and re-enumerated.
  static gboolean on_dead_ioctl(UMockdevIoctlBase* handler, UMockdevIoctlClient* client,
                                gpointer self);
  gboolean handle(UMockdevIoctlClient* client);
  void complete(UMockdevIoctlData* urb, int status, int actual);
  void fill_in(UMockdevIoctlData* urb, UMockdevIoctlData* buf, std::vector<std::uint8_t> data);
  void vanish();
  std::optional<std::vector<std::uint8_t>> standard_control(const setup_packet& s);

  bool gone_ = false;
  int unplug_countdown_ = -1;
  std::string driver_;
  std::map<std::uint8_t, int> stall_;  // ep -> pending stalls
  struct pending {
    UMockdevIoctlData* urb;
    UMockdevIoctlData* buf;
  };
  std::map<std::uint8_t, std::deque<pending>> waiting_in_;
  std::map<std::uint8_t, std::deque<std::vector<std::uint8_t>>> queued_;
  std::deque<UMockdevIoctlData*> reapable_;
  std::uint64_t urbs_ = 0, clear_halts_ = 0, claims_ = 0, detaches_ = 0;
  testbed* bed_ = nullptr;
  std::string syspath_, devnode_;
  UMockdevIoctlBase* handler_ = nullptr;
  gulong signal_ = 0;
  std::vector<UMockdevIoctlBase*> dead_handlers_;
};

// The umockdev sandbox. One per test; every libusb handle on its devices must be closed before it
// is destroyed.
class testbed {
 public:
  testbed();
  ~testbed();
  testbed(const testbed&) = delete;
  testbed& operator=(const testbed&) = delete;

  // Adds `m` on bus 1 at the next device number, port 1-`port` (0: the next free port). A model
  // plugged again after unplug() gets a new device number, like a real re-enumeration.
  void plug(std::shared_ptr<usb_model> m, int port = 0);
  // The device goes away: its ioctls fail with ENODEV, a "remove" uevent is sent and it leaves
  // sysfs. Keeps the model (tests read its counters).
  void unplug(usb_model& m);
  UMockdevTestbed* raw() const noexcept { return tb_; }
  std::string root() const;

 private:
  UMockdevTestbed* tb_ = nullptr;
  int next_devnum_ = 2;
  int next_port_ = 1;
  std::vector<std::shared_ptr<usb_model>> models_;
  std::map<usb_model*, int> ports_;
};

// Little helpers for descriptors.
std::vector<std::uint8_t> device_descriptor(std::uint16_t vid, std::uint16_t pid,
                                            std::uint16_t bcd_device, std::uint8_t max_packet0);
void put_le16(std::vector<std::uint8_t>& v, std::uint16_t x);

}  // namespace hilt::usbtest
