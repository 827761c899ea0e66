#include "usb_model.hpp"

#include <fmt/format.h>
#include <linux/usbdevice_fs.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace hilt::usbtest {

bool umockdev_available(std::string* why) {
  const char* pre = std::getenv("LD_PRELOAD");
  if (pre && std::strstr(pre, "libumockdev-preload")) return true;
  if (why) {
    *why =
        "not running under umockdev (libumockdev-preload.so is not in LD_PRELOAD): install the "
        "Debian packages umockdev and libumockdev-dev (scripts/setup.sh) and run the test through "
        "umockdev-wrapper (ctest does)";
  }
  return false;
}

void put_le16(std::vector<std::uint8_t>& v, std::uint16_t x) {
  v.push_back(static_cast<std::uint8_t>(x));
  v.push_back(static_cast<std::uint8_t>(x >> 8));
}

std::vector<std::uint8_t> device_descriptor(std::uint16_t vid, std::uint16_t pid,
                                            std::uint16_t bcd_device, std::uint8_t max_packet0) {
  std::vector<std::uint8_t> d{18, 1, 0x00, 0x02, 0, 0, 0, max_packet0};
  put_le16(d, vid);
  put_le16(d, pid);
  put_le16(d, bcd_device);
  d.push_back(1);  // iManufacturer
  d.push_back(2);  // iProduct
  d.push_back(3);  // iSerialNumber
  d.push_back(1);  // bNumConfigurations
  return d;
}

// ---- usb_model ------------------------------------------------------------------------------

usb_model::~usb_model() {
  if (handler_) {
    if (signal_) g_signal_handler_disconnect(handler_, signal_);
    g_object_unref(handler_);
  }
  for (auto* h : dead_handlers_) {
    g_signal_handlers_disconnect_by_data(h, this);
    g_object_unref(h);
  }
  for (auto& [ep, q] : waiting_in_) {
    for (auto& p : q) {
      g_object_unref(p.urb);
      if (p.buf) g_object_unref(p.buf);
    }
  }
  for (auto* u : reapable_)
    g_object_unref(u);
}

void usb_model::bind_kernel_driver(std::string name) {
  std::lock_guard lk(mu_);
  driver_ = std::move(name);
}

std::string usb_model::kernel_driver() const {
  std::lock_guard lk(mu_);
  return driver_;
}

void usb_model::stall_next(std::uint8_t ep) {
  std::lock_guard lk(mu_);
  stall_[ep] = 1;
}

void usb_model::unplug_after(int urbs) {
  std::lock_guard lk(mu_);
  unplug_countdown_ = urbs;
}

bool usb_model::gone() const {
  std::lock_guard lk(mu_);
  return gone_;
}

std::uint64_t usb_model::urbs() const {
  std::lock_guard lk(mu_);
  return urbs_;
}

std::uint64_t usb_model::clear_halts() const {
  std::lock_guard lk(mu_);
  return clear_halts_;
}

std::uint64_t usb_model::claims() const {
  std::lock_guard lk(mu_);
  return claims_;
}

std::uint64_t usb_model::detaches() const {
  std::lock_guard lk(mu_);
  return detaches_;
}

void usb_model::queue_in(std::uint8_t ep, std::vector<std::uint8_t> data) {
  auto& w = waiting_in_[ep];
  if (!w.empty()) {
    auto p = w.front();
    w.pop_front();
    fill_in(p.urb, p.buf, std::move(data));
    g_object_unref(p.urb);
    if (p.buf) g_object_unref(p.buf);
    return;
  }
  queued_[ep].push_back(std::move(data));
}

std::size_t usb_model::queued_in(std::uint8_t ep) const {
  auto it = queued_.find(ep);
  return it == queued_.end() ? 0 : it->second.size();
}

void usb_model::drop_queued_in() {
  queued_.clear();
}

void usb_model::complete(UMockdevIoctlData* urb_data, int status, int actual) {
  auto* urb = reinterpret_cast<usbdevfs_urb*>(urb_data->data);
  urb->status = status;
  urb->actual_length = actual;
  reapable_.push_back(static_cast<UMockdevIoctlData*>(g_object_ref(urb_data)));
}

void usb_model::fill_in(UMockdevIoctlData* urb_data, UMockdevIoctlData* buf,
                        std::vector<std::uint8_t> data) {
  auto* urb = reinterpret_cast<usbdevfs_urb*>(urb_data->data);
  const std::size_t room = static_cast<std::size_t>(std::max(urb->buffer_length, 0));
  const std::size_t n = std::min(room, data.size());
  if (buf && n > 0) std::memcpy(buf->data, data.data(), n);
  // More than the host asked for: usbfs reports -EOVERFLOW (babble).
  complete(urb_data, data.size() > room ? -EOVERFLOW : 0, static_cast<int>(n));
}

void usb_model::vanish() {
  gone_ = true;
  for (auto& [ep, q] : waiting_in_) {
    for (auto& p : q) {
      g_object_unref(p.urb);
      if (p.buf) g_object_unref(p.buf);
    }
    q.clear();
  }
  for (auto* u : reapable_)
    g_object_unref(u);
  reapable_.clear();
  queued_.clear();
}

std::optional<std::vector<std::uint8_t>> usb_model::standard_control(const setup_packet& s) {
  if ((s.request_type & 0x60) != 0) return std::nullopt;  // class / vendor
  if (s.request_type == 0x80 && s.request == 6) {         // GET_DESCRIPTOR
    const auto type = s.value >> 8;
    const auto index = s.value & 0xFF;
    const auto all = descriptors();
    if (type == 1) return std::vector<std::uint8_t>(all.begin(), all.begin() + 18);
    if (type == 2) return std::vector<std::uint8_t>(all.begin() + 18, all.end());
    if (type == 3) {
      if (index == 0) return std::vector<std::uint8_t>{4, 3, 0x09, 0x04};
      const std::string* str = index == 1   ? &manufacturer
                               : index == 2 ? &product
                               : index == 3 ? &serial
                                            : nullptr;
      if (!str) return std::nullopt;
      std::vector<std::uint8_t> d{static_cast<std::uint8_t>(2 + 2 * str->size()), 3};
      for (char c : *str) {
        d.push_back(static_cast<std::uint8_t>(c));
        d.push_back(0);
      }
      return d;
    }
    return std::nullopt;
  }
  if (s.request_type == 0x80 && s.request == 0) return std::vector<std::uint8_t>{0, 0};
  // SET_CONFIGURATION, SET_INTERFACE, CLEAR_FEATURE: accepted.
  if (s.request == 9 || s.request == 11 || s.request == 1) return std::vector<std::uint8_t>{};
  return std::nullopt;
}

gboolean usb_model::on_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer self) {
  return static_cast<usb_model*>(self)->handle(client);
}

gboolean usb_model::on_dead_ioctl(UMockdevIoctlBase*, UMockdevIoctlClient* client, gpointer) {
  umockdev_ioctl_client_complete(client, -1, ENODEV);
  return TRUE;
}

gboolean usb_model::handle(UMockdevIoctlClient* client) {
  std::unique_lock lk(mu_);
  const gulong request = umockdev_ioctl_client_get_request(client);
  UMockdevIoctlData* arg = umockdev_ioctl_client_get_arg(client);
  auto done = [&](long r, int err) {
    umockdev_ioctl_client_complete(client, r, err);
    return TRUE;
  };
  if (gone_) return done(-1, ENODEV);  // usbfs after a disconnect

  switch (request) {
    case USBDEVFS_GET_CAPABILITIES: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), nullptr);
      if (!d) return done(-1, EFAULT);
      *reinterpret_cast<guint32*>(d->data) =
          USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
          USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
      g_object_unref(d);
      return done(0, 0);
    }
    case USBDEVFS_CLAIMINTERFACE:
      if (!driver_.empty()) return done(-1, EBUSY);
      ++claims_;
      return done(0, 0);
    case USBDEVFS_RELEASEINTERFACE:
    case USBDEVFS_RESET:
    case USBDEVFS_RESETEP:
    case USBDEVFS_SETINTERFACE:
    case USBDEVFS_SETCONFIGURATION:
      return done(0, 0);
    case USBDEVFS_CLEAR_HALT: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(unsigned int), nullptr);
      if (!d) return done(-1, EFAULT);
      const auto ep = static_cast<std::uint8_t>(*reinterpret_cast<unsigned int*>(d->data));
      g_object_unref(d);
      stall_.erase(ep);
      ++clear_halts_;
      on_clear_halt(ep);
      return done(0, 0);
    }
    case USBDEVFS_GETDRIVER: {
      UMockdevIoctlData* d =
          umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_getdriver), nullptr);
      if (!d) return done(-1, EFAULT);
      auto* g = reinterpret_cast<usbdevfs_getdriver*>(d->data);
      const bool bound = !driver_.empty() && g->interface == 0;
      if (bound) {
        std::memset(g->driver, 0, sizeof g->driver);
        std::strncpy(g->driver, driver_.c_str(), sizeof g->driver - 1);
      }
      g_object_unref(d);
      return bound ? done(0, 0) : done(-1, ENODATA);
    }
    case USBDEVFS_IOCTL: {
      UMockdevIoctlData* d = umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_ioctl), nullptr);
      if (!d) return done(-1, EFAULT);
      const int code = reinterpret_cast<usbdevfs_ioctl*>(d->data)->ioctl_code;
      g_object_unref(d);
      if (code == static_cast<int>(USBDEVFS_DISCONNECT)) {
        if (driver_.empty()) return done(-1, ENODATA);
        driver_.clear();
        ++detaches_;
        return done(0, 0);
      }
      if (code == static_cast<int>(USBDEVFS_CONNECT)) return done(0, 0);
      return done(-1, ENOTTY);
    }
    case USBDEVFS_SUBMITURB: {
      UMockdevIoctlData* urb_data =
          umockdev_ioctl_data_resolve(arg, 0, sizeof(usbdevfs_urb), nullptr);
      if (!urb_data) return done(-1, EFAULT);
      auto* urb = reinterpret_cast<usbdevfs_urb*>(urb_data->data);
      UMockdevIoctlData* buf =
          urb->buffer_length > 0
              ? umockdev_ioctl_data_resolve(urb_data, G_STRUCT_OFFSET(usbdevfs_urb, buffer),
                                            static_cast<gsize>(urb->buffer_length), nullptr)
              : nullptr;
      ++urbs_;
      auto release = [&]() {
        if (buf) g_object_unref(buf);
        g_object_unref(urb_data);
      };
      if (unplug_countdown_ > 0 && --unplug_countdown_ == 0) {
        release();
        vanish();
        return done(-1, ENODEV);
      }
      const std::uint8_t ep = urb->endpoint;
      if (urb->type != USBDEVFS_URB_TYPE_CONTROL) {
        if (auto it = stall_.find(ep); it != stall_.end() && it->second > 0) {
          // A halted endpoint fails every transfer until the host clears the halt.
          complete(urb_data, -EPIPE, 0);
          release();
          return done(0, 0);
        }
      }
      if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
        if (!buf || urb->buffer_length < 8) {
          release();
          return done(-1, EINVAL);
        }
        const std::uint8_t* p = buf->data;
        setup_packet s{p[0], p[1], static_cast<std::uint16_t>(p[2] | (p[3] << 8)),
                       static_cast<std::uint16_t>(p[4] | (p[5] << 8)),
                       static_cast<std::uint16_t>(p[6] | (p[7] << 8))};
        const bool in = (s.request_type & 0x80) != 0;
        std::optional<std::vector<std::uint8_t>> data = standard_control(s);
        bool stall = false;
        if (!data) {
          auto out = std::span<const std::uint8_t>(
              p + 8,
              std::min<std::size_t>(s.length, static_cast<std::size_t>(urb->buffer_length) - 8));
          auto rep = on_control(s, out);
          stall = rep.stall;
          data = std::move(rep.data);
        }
        if (stall) {
          complete(urb_data, -EPIPE, 0);
        } else if (in) {
          const std::size_t n = std::min<std::size_t>(
              {data->size(), s.length, static_cast<std::size_t>(urb->buffer_length) - 8});
          if (n) std::memcpy(buf->data + 8, data->data(), n);
          complete(urb_data, 0, static_cast<int>(n));
        } else {
          complete(urb_data, 0, s.length);
        }
        release();
        return done(0, 0);
      }
      if (ep & 0x80) {
        waiting_in_[ep].push_back({urb_data, buf});  // the references move to the queue
        on_in_request(ep);
        auto& q = queued_[ep];
        if (!q.empty() && !waiting_in_[ep].empty()) {
          auto data = std::move(q.front());
          q.pop_front();
          auto pend = waiting_in_[ep].front();
          waiting_in_[ep].pop_front();
          fill_in(pend.urb, pend.buf, std::move(data));
          g_object_unref(pend.urb);
          if (pend.buf) g_object_unref(pend.buf);
        }
        return done(0, 0);
      }
      // OUT: the host's data is taken at once; the model's reaction may complete IN transfers.
      std::vector<std::uint8_t> data(buf ? buf->data : nullptr,
                                     buf ? buf->data + urb->buffer_length : nullptr);
      complete(urb_data, 0, urb->buffer_length);
      release();
      on_out(ep, data);
      return done(0, 0);
    }
    case USBDEVFS_REAPURB:
    case USBDEVFS_REAPURBNDELAY: {
      if (reapable_.empty()) return done(-1, EAGAIN);
      UMockdevIoctlData* u = reapable_.front();
      reapable_.pop_front();
      UMockdevIoctlData* p = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), nullptr);
      if (!p) {
        g_object_unref(u);
        return done(-1, EFAULT);
      }
      umockdev_ioctl_data_set_ptr(p, 0, u);
      g_object_unref(p);
      g_object_unref(u);
      return done(0, 0);
    }
    case USBDEVFS_DISCARDURB: {
      const gulong addr = *reinterpret_cast<const gulong*>(arg->data);
      for (auto& [ep, q] : waiting_in_) {
        for (auto it = q.begin(); it != q.end(); ++it) {
          if (it->urb->client_addr == addr) {
            auto pend = *it;
            q.erase(it);
            complete(pend.urb, -ENOENT, 0);
            g_object_unref(pend.urb);
            if (pend.buf) g_object_unref(pend.buf);
            return done(0, 0);
          }
        }
      }
      return done(-1, EINVAL);  // already completed
    }
    default:
      return done(-1, ENOTTY);
  }
}

// ---- testbed --------------------------------------------------------------------------------

testbed::testbed() : tb_(umockdev_testbed_new()) {
  if (!tb_) throw std::runtime_error("umockdev_testbed_new failed");
}

testbed::~testbed() {
  g_object_unref(tb_);
  models_.clear();
}

std::string testbed::root() const {
  gchar* r = umockdev_testbed_get_root_dir(tb_);
  std::string s = r ? r : "";
  g_free(r);
  return s;
}

void testbed::plug(std::shared_ptr<usb_model> m, int port) {
  if (auto it = ports_.find(m.get()); it != ports_.end() && port == 0) port = it->second;
  if (port == 0) port = next_port_++;
  ports_[m.get()] = port;
  const int devnum = next_devnum_++;
  std::string hex;
  for (auto b : m->descriptors())
    hex += fmt::format("{:02x}", b);
  const std::string devnode = fmt::format("/dev/bus/usb/001/{:03d}", devnum);
  {
    std::lock_guard lk(m->mu_);
    m->gone_ = false;
    m->unplug_countdown_ = -1;
    m->stall_.clear();
    m->queued_.clear();
    m->bed_ = this;
    m->devnode_ = devnode;
    m->syspath_ = fmt::format("/sys/devices/pci0000:00/usb1/1-{}", port);
    if (m->handler_) {
      // The old node stays dead for whoever still has it open.
      if (m->signal_) g_signal_handler_disconnect(m->handler_, m->signal_);
      g_signal_connect(m->handler_, "handle-ioctl", G_CALLBACK(&usb_model::on_dead_ioctl), m.get());
      m->dead_handlers_.push_back(m->handler_);
    }
    m->handler_ = umockdev_ioctl_base_new();
    m->signal_ =
        g_signal_connect(m->handler_, "handle-ioctl", G_CALLBACK(&usb_model::on_ioctl), m.get());
  }
  GError* err = nullptr;
  if (!umockdev_testbed_attach_ioctl(tb_, devnode.c_str(), m->handler_, &err)) {
    std::string msg = err ? err->message : "?";
    if (err) g_error_free(err);
    throw std::runtime_error("umockdev_testbed_attach_ioctl: " + msg);
  }
  const std::string text = fmt::format(
      "P: /devices/pci0000:00/usb1/1-{port}\n"
      "N: bus/usb/001/{dev:03d}\n"
      "E: SUBSYSTEM=usb\n"
      "E: DEVTYPE=usb_device\n"
      "E: DRIVER=usb\n"
      "E: BUSNUM=001\n"
      "E: DEVNUM={dev:03d}\n"
      "E: DEVNAME=/dev/bus/usb/001/{dev:03d}\n"
      "A: busnum=1\\n\n"
      "A: devnum={dev}\\n\n"
      "A: speed=12\\n\n"
      "A: bConfigurationValue=1\\n\n"
      "A: idVendor={vid:04x}\\n\n"
      "A: idProduct={pid:04x}\\n\n"
      "A: manufacturer={man}\\n\n"
      "A: product={prod}\\n\n"
      "A: serial={ser}\\n\n"
      "H: descriptors={hex}\n",
      fmt::arg("port", port), fmt::arg("dev", devnum), fmt::arg("vid", m->vid()),
      fmt::arg("pid", m->pid()), fmt::arg("man", m->manufacturer), fmt::arg("prod", m->product),
      fmt::arg("ser", m->serial), fmt::arg("hex", hex));
  if (!umockdev_testbed_add_from_string(tb_, text.c_str(), &err)) {
    std::string msg = err ? err->message : "?";
    if (err) g_error_free(err);
    throw std::runtime_error("umockdev_testbed_add_from_string: " + msg);
  }
  if (std::find(models_.begin(), models_.end(), m) == models_.end()) models_.push_back(m);
}

void testbed::unplug(usb_model& m) {
  std::string syspath;
  {
    std::lock_guard lk(m.mu_);
    m.vanish();
    syspath = m.syspath_;
  }
  umockdev_testbed_uevent(tb_, syspath.c_str(), "remove");
  umockdev_testbed_remove_device(tb_, syspath.c_str());
}

}  // namespace hilt::usbtest
