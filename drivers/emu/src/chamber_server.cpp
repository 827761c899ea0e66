#include "hilt/emu/chamber_server.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <modbus.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

namespace hilt::emu {

namespace mc = hilt::modbus_chamber;

// ---------------------------------------------------------------------------------------------
// Air model

namespace {

// T' = clamp((target - T) / tau, -rate, +rate) over dt seconds, in closed form: a straight ramp
// while the rate limit binds, then the exponential approach.
double approach(double t0, double target, double tau, double rate, double dt) {
  if (dt <= 0) return t0;
  const double err = target - t0;
  const double sign = err >= 0 ? 1.0 : -1.0;
  const double band = std::isfinite(rate) ? rate * tau : std::numeric_limits<double>::infinity();
  double t = t0;
  if (std::abs(err) > band) {
    const double linear = (std::abs(err) - band) / rate;  // seconds until the limit lets go
    if (dt <= linear) return t0 + sign * rate * dt;
    t = target - sign * band;
    dt -= linear;
  }
  return target - (target - t) * std::exp(-dt / tau);
}

}  // namespace

chamber_model::chamber_model(std::shared_ptr<const world> time_base, chamber_params p)
    : time_(std::move(time_base)), p_(std::move(p)) {
  t0_ = time_->now();
  temp0_ = p_.running ? p_.setpoint_c : p_.room_c;
}

double chamber_model::target() const noexcept {
  if (p_.running) {
    return p_.setpoint_c + p_.load_coupling_c_per_w * std::max(0.0, load_w_ - p_.capacity_w);
  }
  return p_.room_c + p_.load_coupling_c_per_w * load_w_;
}

void chamber_model::advance(time_point t) {
  if (t <= t0_) return;
  const double dt = std::chrono::duration<double>(t - t0_).count();
  double rate = std::numeric_limits<double>::infinity();
  double tau = p_.off_time_constant_s;
  if (p_.running) {
    tau = p_.time_constant_s;
    const double programmed = p_.ramp_c_per_min > 0 ? p_.ramp_c_per_min : p_.max_ramp_c_per_min;
    rate = std::min(programmed, p_.max_ramp_c_per_min) / 60.0;
  }
  temp0_ = approach(temp0_, target(), tau, rate, dt);
  t0_ = t;
}

double chamber_model::air_temperature_at(time_point t) {
  std::lock_guard lk(mu_);
  advance(t);
  return temp0_;
}

double chamber_model::air_temperature_c() {
  return air_temperature_at(time_->now());
}

double chamber_model::setpoint_c() {
  std::lock_guard lk(mu_);
  return p_.setpoint_c;
}

void chamber_model::set_setpoint_c(double c) {
  std::lock_guard lk(mu_);
  advance(time_->now());
  p_.setpoint_c = c;
}

bool chamber_model::running() {
  std::lock_guard lk(mu_);
  return p_.running;
}

void chamber_model::set_running(bool run) {
  std::lock_guard lk(mu_);
  advance(time_->now());
  p_.running = run;
}

double chamber_model::ramp_c_per_min() {
  std::lock_guard lk(mu_);
  return p_.ramp_c_per_min;
}

void chamber_model::set_ramp_c_per_min(double r) {
  std::lock_guard lk(mu_);
  advance(time_->now());
  p_.ramp_c_per_min = r;
}

void chamber_model::set_load_source(std::function<double()> watts) {
  std::lock_guard lk(mu_);
  load_source_ = std::move(watts);
}

void chamber_model::refresh_load() {
  std::function<double()> src;
  {
    std::lock_guard lk(mu_);
    src = load_source_;
  }
  // Asked without our lock: a device computing its dissipation reads its ambient, which is us.
  const double w = src ? src() : 0.0;
  std::lock_guard lk(mu_);
  advance(time_->now());
  load_w_ = w;
}

double chamber_model::load_w() {
  std::lock_guard lk(mu_);
  return load_w_;
}

void chamber_model::set_sensor_fault(bool f) {
  std::lock_guard lk(mu_);
  sensor_fault_ = f;
}

std::uint16_t chamber_model::alarms() {
  std::lock_guard lk(mu_);
  advance(time_->now());
  std::uint16_t a = 0;
  if (temp0_ > p_.over_temperature_c) a |= 1u << 2;
  if (sensor_fault_) a |= 1u << 3;
  return a;
}

std::string chamber_model::describe(const std::string& label) {
  std::lock_guard lk(mu_);
  advance(time_->now());
  return fmt::format("{} {} sp={:.1f}C air={:.1f}C ramp={:.1f}C/min load={:.1f}W", label,
                     p_.running ? "running" : "stopped", p_.setpoint_c, temp0_, p_.ramp_c_per_min,
                     load_w_);
}

// ---------------------------------------------------------------------------------------------
// Modbus TCP server

struct modbus_chamber_server::impl {
  modbus_t* ctx = nullptr;
  modbus_mapping_t* mapping = nullptr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::atomic<bool> stopping{false};
  std::vector<int> clients;

  ~impl() {
    for (int c : clients)
      ::close(c);
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake) {
      if (fd >= 0) ::close(fd);
    }
    if (mapping) modbus_mapping_free(mapping);
    if (ctx) modbus_free(ctx);
  }
};

modbus_chamber_server::modbus_chamber_server(std::shared_ptr<chamber_model> chamber,
                                             mc::register_map map)
    : chamber_(std::move(chamber)), map_(std::move(map)) {}

modbus_chamber_server::~modbus_chamber_server() {
  stop();
}

void modbus_chamber_server::start(const std::string& host, std::uint16_t port) {
  if (impl_) return;
  auto im = std::make_unique<impl>();
  im->ctx = modbus_new_tcp(host.c_str(), port);
  if (!im->ctx) {
    throw std::runtime_error(fmt::format("cannot create a Modbus server for {}:{}: {}", host, port,
                                         modbus_strerror(errno)));
  }
  im->listen_fd = modbus_tcp_listen(im->ctx, 16);
  if (im->listen_fd < 0) {
    throw std::runtime_error(
        fmt::format("cannot listen on {}:{}: {}", host, port, modbus_strerror(errno)));
  }
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(im->listen_fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port_ = ntohs(sa.sin_port);
  }
  unsigned top = 0;
  for (const auto& [name, r] : map_.registers)
    top = std::max(top, unsigned(r.address) + r.count);
  im->mapping = modbus_mapping_new_start_address(0, 0, 0, 0, 0, top, 0, 0);
  if (!im->mapping || ::pipe2(im->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    throw std::runtime_error(fmt::format("cannot set up the Modbus server on {}:{}: {}", host,
                                         port_, std::strerror(errno)));
  }
  impl_ = std::move(im);
  thread_ = std::thread([this] { loop(); });
}

void modbus_chamber_server::stop() {
  if (!impl_) return;
  impl_->stopping = true;
  const char b = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake[1], &b, 1);
  if (thread_.joinable()) thread_.join();
  impl_.reset();
}

void modbus_chamber_server::inject(modbus_fault f, int count) {
  std::lock_guard lk(mu_);
  fault_ = f;
  fault_count_ = f == modbus_fault::none ? 0 : count;
}

modbus_fault modbus_chamber_server::take_fault() {
  if (fail_when_ && fail_when_()) return modbus_fault::failure;
  std::lock_guard lk(mu_);
  if (fault_ == modbus_fault::none || fault_count_ == 0) return modbus_fault::none;
  const auto f = fault_;
  if (fault_count_ > 0 && --fault_count_ == 0) fault_ = modbus_fault::none;
  return f;
}

namespace {

std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}

double saturate(const mc::register_def& r, double v) {
  double lo = 0, hi = 0;
  switch (r.type) {
    case mc::reg_type::int16:
      lo = -32768;
      hi = 32767;
      break;
    case mc::reg_type::uint16:
      lo = 0;
      hi = 65535;
      break;
    case mc::reg_type::int32:
      lo = -2147483648.0;
      hi = 2147483647.0;
      break;
    case mc::reg_type::uint32:
      lo = 0;
      hi = 4294967295.0;
      break;
    case mc::reg_type::string:
      return v;
  }
  return std::clamp(v, lo / r.scale, hi / r.scale);
}

// The model's value of a named register, if it has one.
std::optional<double> model_value(chamber_model& c, const std::string& name) {
  const auto& p = c.params();
  if (name == "process_value") return c.air_temperature_c();
  if (name == "setpoint") return c.setpoint_c();
  if (name == "ramp_rate") return c.ramp_c_per_min();
  if (name == "alarms") return c.alarms();
  if (name == "setpoint_low_limit") return p.min_setpoint_c;
  if (name == "setpoint_high_limit") return p.max_setpoint_c;
  if (name == "hardware_id") return p.hardware_id;
  if (name == "software_version") return p.software_version;
  if (name == "serial_number") return p.serial;
  return std::nullopt;
}

}  // namespace

void modbus_chamber_server::loop() {
  impl& im = *impl_;
  std::vector<std::uint8_t> query(MODBUS_TCP_MAX_ADU_LENGTH);
  auto close_client = [&](int fd) {
    ::close(fd);
    im.clients.erase(std::remove(im.clients.begin(), im.clients.end(), fd), im.clients.end());
  };
  auto refresh = [&] {
    chamber_->refresh_load();
    for (const auto& [name, r] : map_.registers) {
      std::vector<std::uint16_t> words;
      if (name == "run_state") {
        words = {chamber_->running() ? map_.run_value : map_.stop_value};
      } else if (name == "part_number") {
        words = mc::encode_string(chamber_->params().part_number, r.count);
      } else if (auto v = model_value(*chamber_, name)) {
        // A value beyond the register's range saturates, as a controller's display does.
        auto w = mc::encode(r, saturate(r, *v), map_.high_word_first);
        if (w) words = *w;
      }
      for (std::size_t i = 0; i < words.size(); ++i)
        im.mapping->tab_registers[r.address + i] = words[i];
    }
  };
  // Applies written registers to the model; false (exception 03) when the controller refuses.
  auto apply = [&](const mc::register_def& r, std::span<const std::uint16_t> raw, bool commit) {
    if (r.name == "run_state") {
      if (raw[0] != map_.run_value && raw[0] != map_.stop_value) return false;
      if (commit) chamber_->set_running(raw[0] == map_.run_value);
      return true;
    }
    auto v = mc::decode(r, raw, map_.high_word_first);
    if (!v) return false;
    if (r.name == "setpoint") {
      const auto& p = chamber_->params();
      if (*v < p.min_setpoint_c || *v > p.max_setpoint_c) return false;
      if (commit) chamber_->set_setpoint_c(*v);
    } else if (r.name == "ramp_rate") {
      if (*v < 0) return false;
      if (commit) chamber_->set_ramp_c_per_min(*v);
    }
    return true;
  };

  while (!im.stopping) {
    std::vector<pollfd> fds;
    fds.push_back(pollfd{im.wake[0], POLLIN, 0});
    fds.push_back(pollfd{im.listen_fd, POLLIN, 0});
    for (int c : im.clients)
      fds.push_back(pollfd{c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    if (fds[1].revents & POLLIN) {
      const int c = ::accept4(im.listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        int one = 1;
        ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        im.clients.push_back(c);
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      const int fd = fds[i].fd;
      modbus_set_socket(im.ctx, fd);
      const int len = modbus_receive(im.ctx, query.data());
      if (len == -1) {
        close_client(fd);
        continue;
      }
      if (len == 0) continue;  // not for this unit
      ++requests_;
      const auto fault = take_fault();
      if (fault == modbus_fault::drop) {
        close_client(fd);
        continue;
      }
      if (fault == modbus_fault::stall) continue;
      if (fault == modbus_fault::busy || fault == modbus_fault::failure) {
        modbus_reply_exception(im.ctx, query.data(),
                               fault == modbus_fault::busy
                                   ? MODBUS_EXCEPTION_SLAVE_OR_SERVER_BUSY
                                   : MODBUS_EXCEPTION_SLAVE_OR_SERVER_FAILURE);
        continue;
      }
      const int hl = modbus_get_header_length(im.ctx);
      const std::uint8_t* pdu = query.data() + hl;
      const std::uint8_t function = pdu[0];
      const std::uint16_t addr = be16(pdu + 1);
      auto exception = [&](unsigned code) { modbus_reply_exception(im.ctx, query.data(), code); };
      if (function == MODBUS_FC_READ_HOLDING_REGISTERS) {
        const std::uint16_t count = be16(pdu + 3);
        if (count < 1 || count > MODBUS_MAX_READ_REGISTERS) {
          exception(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
          continue;
        }
        bool mapped = true;
        for (unsigned a = addr; a < unsigned(addr) + count; ++a) {
          mapped = mapped && a <= 0xFFFF && map_.at_address(static_cast<std::uint16_t>(a));
        }
        if (!mapped) {
          exception(MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
          continue;
        }
        refresh();
        modbus_reply(im.ctx, query.data(), len, im.mapping);
      } else if (function == MODBUS_FC_WRITE_SINGLE_REGISTER ||
                 function == MODBUS_FC_WRITE_MULTIPLE_REGISTERS) {
        std::vector<std::uint16_t> values;
        if (function == MODBUS_FC_WRITE_SINGLE_REGISTER) {
          values.push_back(be16(pdu + 3));
        } else {
          const std::uint16_t count = be16(pdu + 3);
          const std::uint8_t bytes = pdu[5];
          if (count < 1 || count > MODBUS_MAX_WRITE_REGISTERS || bytes != count * 2 ||
              len < hl + 6 + bytes) {
            exception(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
            continue;
          }
          for (unsigned k = 0; k < count; ++k)
            values.push_back(be16(pdu + 6 + 2 * k));
        }
        // Every written register must be writable and written whole.
        bool ok_address = true, ok_value = true;
        std::vector<std::pair<const mc::register_def*, std::size_t>> parts;
        for (std::size_t k = 0; k < values.size() && ok_address;) {
          const unsigned a = addr + k;
          const auto* r = a <= 0xFFFF ? map_.at_address(static_cast<std::uint16_t>(a)) : nullptr;
          if (!r || !r->writable || r->address != a || k + r->count > values.size()) {
            ok_address = false;
            break;
          }
          parts.emplace_back(r, k);
          k += r->count;
        }
        if (!ok_address) {
          exception(MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
          continue;
        }
        for (const auto& [r, k] : parts) {
          ok_value = ok_value && apply(*r, std::span(values).subspan(k, r->count), false);
        }
        if (!ok_value) {
          exception(MODBUS_EXCEPTION_ILLEGAL_DATA_VALUE);
          continue;
        }
        for (const auto& [r, k] : parts)
          apply(*r, std::span(values).subspan(k, r->count), true);
        modbus_reply(im.ctx, query.data(), len, im.mapping);
      } else {
        exception(MODBUS_EXCEPTION_ILLEGAL_FUNCTION);
      }
    }
  }
}

}  // namespace hilt::emu
