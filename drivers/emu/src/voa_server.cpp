#include "hilt/emu/voa_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace hilt::emu {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// SCPI-99 Vol 1 §6.2.1: a keyword matches in its short form (the capitals of "INPut") or its long
// form, in any case.
bool keyword(std::string_view node, std::string_view long_form, std::size_t short_len) {
  const std::string u = upper(node);
  return u == upper(long_form) || u == upper(long_form.substr(0, short_len));
}

struct node {
  std::string_view name;
  int suffix = -1;  // -1: none
};

// "INP1" -> {INP, 1}.
node split_suffix(std::string_view n) {
  std::size_t i = n.size();
  while (i > 0 && std::isdigit(static_cast<unsigned char>(n[i - 1])))
    --i;
  node out{n.substr(0, i), -1};
  if (i < n.size() && n.size() - i <= 3) {
    out.suffix = std::atoi(std::string(n.substr(i)).c_str());
  } else if (i < n.size()) {
    out.suffix = 1000;
  }
  return out;
}

std::string nr3(double v) {
  return fmt::format("{:+.6E}", v);
}

// A numeric parameter with an optional unit: value and the upper-case unit ("" when none).
// nullopt when the text is not a number.
std::optional<std::pair<double, std::string>> number_with_unit(std::string_view p) {
  const std::string s(p);
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v)) return std::nullopt;
  return std::make_pair(v, upper(trim(std::string_view(end))));
}

}  // namespace

voa_emulator::voa_emulator(voa_options opts) : opts_(std::move(opts)) {
  attenuation_db_ = std::clamp(opts_.attenuation_db, opts_.min_db, opts_.max_db);
  wavelength_nm_ = opts_.wavelength_nm;
  output_on_ = opts_.output_on;
}

void voa_emulator::set_on_change(std::function<void()> before_change) {
  std::lock_guard lock(mu_);
  before_change_ = std::move(before_change);
}

template <class F>
void voa_emulator::change(bool differs, F&& mutate) {
  if (!differs) return;
  std::function<void()> f;
  {
    std::lock_guard lock(mu_);
    f = before_change_;
  }
  // Without our lock: the callback settles the modules downstream, which read path_loss_db().
  if (f) f();
  std::lock_guard lock(mu_);
  mutate();
}

double voa_emulator::path_loss_db() const {
  std::lock_guard lock(mu_);
  if (!output_on_) return std::numeric_limits<double>::infinity();
  return opts_.insertion_loss_db + attenuation_db_;
}

double voa_emulator::attenuation_db() const {
  std::lock_guard lock(mu_);
  return attenuation_db_;
}

bool voa_emulator::shutter_closed() const {
  std::lock_guard lock(mu_);
  return !output_on_;
}

double voa_emulator::wavelength_nm() const {
  std::lock_guard lock(mu_);
  return wavelength_nm_;
}

std::vector<std::pair<int, std::string>> voa_emulator::errors() const {
  std::lock_guard lock(mu_);
  return {errors_.begin(), errors_.end()};
}

std::string voa_emulator::describe(std::string_view name) const {
  std::lock_guard lock(mu_);
  return fmt::format("{} N7762A att={:.3f}dB il={:.1f}dB wav={:.1f}nm shutter={} sn={}", name,
                     attenuation_db_, opts_.insertion_loss_db, wavelength_nm_,
                     output_on_ ? "open" : "closed", opts_.serial);
}

void voa_emulator::push_error(int code, std::string_view text) {
  if (errors_.size() >= error_queue_size) {
    errors_.back() = {-350, "Queue overflow"};
    return;
  }
  errors_.emplace_back(code, std::string(text));
}

void voa_emulator::input_overrun() {
  std::lock_guard lock(mu_);
  push_error(-363, "Input buffer overrun");
}

std::optional<std::string> voa_emulator::handle(std::string_view line) {
  std::vector<std::string> answers;
  // Program message units are separated by ';' (no quoted strings in this command set).
  std::size_t pos = 0;
  while (pos <= line.size()) {
    const auto semi = line.find(';', pos);
    const std::string_view unit = trim(
        line.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
    if (!unit.empty()) {
      if (auto a = execute(unit)) answers.push_back(std::move(*a));
    }
    if (semi == std::string_view::npos) break;
    pos = semi + 1;
  }
  if (answers.empty()) return std::nullopt;
  std::string out = answers.front();
  for (std::size_t i = 1; i < answers.size(); ++i)
    out += ";" + answers[i];
  return out;
}

std::optional<std::string> voa_emulator::execute(std::string_view unit) {
  auto error = [&](int code, std::string_view text) -> std::optional<std::string> {
    std::lock_guard lock(mu_);
    push_error(code, text);
    return std::nullopt;
  };
  // Header and parameters are separated by white space.
  std::size_t sp = 0;
  while (sp < unit.size() && !std::isspace(static_cast<unsigned char>(unit[sp])))
    ++sp;
  std::string_view header = unit.substr(0, sp);
  const std::string_view param = trim(unit.substr(sp));
  bool query = false;
  if (!header.empty() && header.back() == '?') {
    query = true;
    header.remove_suffix(1);
  }
  const std::string uh = upper(header);

  // IEEE 488.2 common commands.
  if (!uh.empty() && uh.front() == '*') {
    if (uh == "*IDN" && query) {
      return fmt::format("Keysight Technologies,N7762A,{},V1.0", opts_.serial);
    }
    if (uh == "*OPC" && query) return std::string("1");
    if (uh == "*OPC" && !query) return std::nullopt;
    if (uh == "*CLS" && !query) {
      std::lock_guard lock(mu_);
      errors_.clear();
      return std::nullopt;
    }
    if (uh == "*RST" && !query) {
      bool differs = false;
      {
        std::lock_guard lock(mu_);
        differs = attenuation_db_ != std::clamp(opts_.attenuation_db, opts_.min_db, opts_.max_db) ||
                  wavelength_nm_ != opts_.wavelength_nm || output_on_ != opts_.output_on;
      }
      change(differs, [&] {
        attenuation_db_ = std::clamp(opts_.attenuation_db, opts_.min_db, opts_.max_db);
        wavelength_nm_ = opts_.wavelength_nm;
        output_on_ = opts_.output_on;
      });
      return std::nullopt;
    }
    return error(-113, "Undefined header");
  }

  // Tree commands: [:]NODE[n]:NODE...
  if (header.starts_with(":")) header.remove_prefix(1);
  std::vector<node> nodes;
  std::size_t p = 0;
  while (p <= header.size()) {
    const auto colon = header.find(':', p);
    const std::string_view n =
        header.substr(p, colon == std::string_view::npos ? std::string_view::npos : colon - p);
    if (n.empty()) return error(-100, "Command error");
    nodes.push_back(split_suffix(n));
    if (colon == std::string_view::npos) break;
    p = colon + 1;
  }
  if (nodes.empty()) return error(-113, "Undefined header");
  auto channel_ok = [](const node& n) { return n.suffix == -1 || n.suffix == 1; };
  for (std::size_t i = 1; i < nodes.size(); ++i) {
    if (nodes[i].suffix != -1) return error(-113, "Undefined header");
  }

  // SYSTem:ERRor[:NEXT]?
  if (keyword(nodes[0].name, "SYSTem", 4) && nodes[0].suffix == -1 && nodes.size() >= 2 &&
      keyword(nodes[1].name, "ERRor", 3) &&
      (nodes.size() == 2 || (nodes.size() == 3 && keyword(nodes[2].name, "NEXT", 4)))) {
    if (!query) return error(-113, "Undefined header");
    std::lock_guard lock(mu_);
    if (errors_.empty()) return std::string("+0,\"No error\"");
    auto e = errors_.front();
    errors_.pop_front();
    return fmt::format("{:+d},\"{}\"", e.first, e.second);
  }

  // OUTPut[n][:STATe] ON|OFF|1|0 and ?
  if (keyword(nodes[0].name, "OUTPut", 4) &&
      (nodes.size() == 1 || (nodes.size() == 2 && keyword(nodes[1].name, "STATe", 4)))) {
    if (!channel_ok(nodes[0])) return error(-114, "Header suffix out of range");
    if (query) {
      if (!param.empty()) return error(-108, "Parameter not allowed");
      std::lock_guard lock(mu_);
      return std::string(output_on_ ? "1" : "0");
    }
    if (param.empty()) return error(-109, "Missing parameter");
    const std::string v = upper(param);
    bool on = false;
    if (v == "ON" || v == "1") {
      on = true;
    } else if (v == "OFF" || v == "0") {
      on = false;
    } else {
      return error(-224, "Illegal parameter value");
    }
    change(on != !shutter_closed(), [&] { output_on_ = on; });
    return std::nullopt;
  }

  // INPut[n]:ATTenuation / INPut[n]:WAVelength
  if (keyword(nodes[0].name, "INPut", 3) && nodes.size() == 2) {
    if (!channel_ok(nodes[0])) return error(-114, "Header suffix out of range");
    const std::string v = upper(param);
    if (keyword(nodes[1].name, "ATTenuation", 3)) {
      if (query) {
        if (v.empty()) return nr3(attenuation_db());
        if (v == "MIN" || v == "MINIMUM") return nr3(opts_.min_db);
        if (v == "MAX" || v == "MAXIMUM") return nr3(opts_.max_db);
        return error(-224, "Illegal parameter value");
      }
      if (v.empty()) return error(-109, "Missing parameter");
      double db = 0;
      if (v == "MIN" || v == "MINIMUM") {
        db = opts_.min_db;
      } else if (v == "MAX" || v == "MAXIMUM") {
        db = opts_.max_db;
      } else {
        auto n = number_with_unit(param);
        if (!n) return error(-104, "Data type error");
        if (!n->second.empty() && n->second != "DB") return error(-131, "Invalid suffix");
        db = n->first;
      }
      if (db < opts_.min_db - 1e-9 || db > opts_.max_db + 1e-9) {
        return error(-222, "Data out of range");
      }
      change(db != attenuation_db(), [&] { attenuation_db_ = db; });
      return std::nullopt;
    }
    if (keyword(nodes[1].name, "WAVelength", 3)) {
      constexpr double min_nm = 1260, max_nm = 1640;  // N7762A data sheet (drivers/scpi_voa model)
      if (query) {
        if (v.empty()) return nr3(wavelength_nm() * 1e-9);
        if (v == "MIN" || v == "MINIMUM") return nr3(min_nm * 1e-9);
        if (v == "MAX" || v == "MAXIMUM") return nr3(max_nm * 1e-9);
        return error(-224, "Illegal parameter value");
      }
      if (v.empty()) return error(-109, "Missing parameter");
      double nm = 0;
      if (v == "MIN" || v == "MINIMUM") {
        nm = min_nm;
      } else if (v == "MAX" || v == "MAXIMUM") {
        nm = max_nm;
      } else {
        auto n = number_with_unit(param);
        if (!n) return error(-104, "Data type error");
        if (n->second.empty() || n->second == "M") {
          nm = n->first * 1e9;
        } else if (n->second == "NM") {
          nm = n->first;
        } else if (n->second == "UM") {
          nm = n->first * 1e3;
        } else {
          return error(-131, "Invalid suffix");
        }
      }
      if (nm < min_nm - 1e-6 || nm > max_nm + 1e-6) return error(-222, "Data out of range");
      change(nm != wavelength_nm(), [&] { wavelength_nm_ = nm; });
      return std::nullopt;
    }
  }
  return error(-113, "Undefined header");
}

}  // namespace hilt::emu
