#include "hilt/emu/scpi_psu_server.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cctype>
#include <charconv>
#include <cmath>
#include <variant>

namespace hilt::emu {

namespace asio = boost::asio;

// ---------------------------------------------------------------------------------------------
// SCPI header matching (SCPI-99 Vol 1 §6.2)

namespace {

struct node {
  std::string long_form;   // "VOLTage" -> upper-cased "VOLTAGE"
  std::string short_form;  // "VOLT"
  bool optional = false;
};

enum class cmd_id {
  idn,
  rst,
  cls,
  opc,
  esr,
  stb,
  tst,
  wai,
  syst_err,
  syst_err_count,
  syst_vers,
  syst_rem,
  syst_loc,
  volt,
  curr,
  inst_nsel,
  inst_sel,
  outp_state,
  outp_sel,
  outp_gen,
  outp_prot_clear,
  meas_volt,
  meas_curr,
};

struct cmd_def {
  std::vector<node> nodes;
  cmd_id id;
  bool can_set = true;
  bool can_query = true;
};

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// "[SOURce] VOLTage [LEVel]": nodes separated by blanks, optional ones in brackets; the short form
// is the upper-case (and digit) prefix of the long form.
std::vector<node> pattern(std::string_view p) {
  std::vector<node> out;
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == ' ')
      ++i;
    if (i >= p.size()) break;
    const std::size_t end = std::min(p.find(' ', i), p.size());
    std::string_view tok = p.substr(i, end - i);
    i = end;
    node n;
    if (tok.front() == '[') {
      n.optional = true;
      tok = tok.substr(1, tok.size() - 2);
    }
    std::size_t k = 0;
    while (k < tok.size() && !std::islower(static_cast<unsigned char>(tok[k])))
      ++k;
    n.short_form = upper(tok.substr(0, k));
    n.long_form = upper(tok);
    out.push_back(std::move(n));
  }
  return out;
}

bool keyword_matches(const node& n, std::string_view tok) {
  const std::string u = upper(tok);
  return u == n.short_form || u == n.long_form;
}

bool match(const std::vector<node>& pat, std::size_t pi, const std::vector<std::string_view>& toks,
           std::size_t ti) {
  if (pi == pat.size()) return ti == toks.size();
  const node& n = pat[pi];
  if (ti < toks.size() && keyword_matches(n, toks[ti]) && match(pat, pi + 1, toks, ti + 1)) {
    return true;
  }
  return n.optional && match(pat, pi + 1, toks, ti);
}

const std::vector<cmd_def>& commands(const std::string& dialect) {
  auto common = [] {
    std::vector<cmd_def> c{
        {pattern("*IDN"), cmd_id::idn, false, true},
        {pattern("*RST"), cmd_id::rst, true, false},
        {pattern("*CLS"), cmd_id::cls, true, false},
        {pattern("*OPC"), cmd_id::opc, true, true},
        {pattern("*ESR"), cmd_id::esr, false, true},
        {pattern("*STB"), cmd_id::stb, false, true},
        {pattern("*TST"), cmd_id::tst, false, true},
        {pattern("*WAI"), cmd_id::wai, true, false},
        {pattern("SYSTem ERRor [NEXT]"), cmd_id::syst_err, false, true},
        {pattern("SYSTem ERRor COUNt"), cmd_id::syst_err_count, false, true},
        {pattern("SYSTem VERSion"), cmd_id::syst_vers, false, true},
        {pattern("SYSTem REMote"), cmd_id::syst_rem, true, false},
        {pattern("SYSTem LOCal"), cmd_id::syst_loc, true, false},
        {pattern("[SOURce] VOLTage [LEVel] [IMMediate] [AMPLitude]"), cmd_id::volt},
        {pattern("[SOURce] CURRent [LEVel] [IMMediate] [AMPLitude]"), cmd_id::curr},
        {pattern("INSTrument NSELect"), cmd_id::inst_nsel},
        {pattern("OUTPut PROTection CLEar"), cmd_id::outp_prot_clear, true, false},
        {pattern("MEASure [SCALar] CURRent [DC]"), cmd_id::meas_curr, false, true},
    };
    return c;
  };
  static const std::vector<cmd_def> keysight = [&] {
    auto c = common();
    c.push_back({pattern("INSTrument [SELect]"), cmd_id::inst_sel});
    c.push_back({pattern("OUTPut [STATe]"), cmd_id::outp_state});
    c.push_back({pattern("MEASure [SCALar] VOLTage [DC]"), cmd_id::meas_volt, false, true});
    return c;
  }();
  static const std::vector<cmd_def> rs = [&] {
    auto c = common();
    c.push_back({pattern("INSTrument [SELect]"), cmd_id::inst_sel});
    c.push_back({pattern("OUTPut SELect"), cmd_id::outp_sel});
    c.push_back({pattern("OUTPut GENeral [STATe]"), cmd_id::outp_gen});
    c.push_back({pattern("OUTPut [STATe]"), cmd_id::outp_state});
    c.push_back({pattern("MEASure [SCALar] [VOLTage] [DC]"), cmd_id::meas_volt, false, true});
    return c;
  }();
  return dialect == "rs-ngp" ? rs : keysight;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Splits at `sep` outside double quotes.
std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == sep && !quoted) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

// A numeric parameter: a value (in base units), a MIN/MAX/DEF keyword, or an SCPI error.
enum class keyword { none, min, max, def };
struct numeric {
  double value = 0;
  keyword kw = keyword::none;
  int error = 0;  // -104 data type error, -131 invalid suffix
};

numeric parse_numeric(std::string_view p, char unit) {
  numeric out;
  const std::string u = upper(p);
  if (u == "MIN" || u == "MINIMUM") return numeric{0, keyword::min, 0};
  if (u == "MAX" || u == "MAXIMUM") return numeric{0, keyword::max, 0};
  if (u == "DEF" || u == "DEFAULT") return numeric{0, keyword::def, 0};
  // Split the mantissa from a unit suffix (SCPI-99 Vol 1 §7.2.1.3): "3.3V", "500 mA".
  std::size_t end = 0;
  while (end < u.size() && (std::isdigit(static_cast<unsigned char>(u[end])) || u[end] == '.' ||
                            u[end] == '+' || u[end] == '-' ||
                            (u[end] == 'E' && end + 1 < u.size() &&
                             (std::isdigit(static_cast<unsigned char>(u[end + 1])) ||
                              u[end + 1] == '+' || u[end + 1] == '-')))) {
    ++end;
  }
  auto v = hilt::scpi::parse_number(std::string_view(u).substr(0, end));
  if (!v) return numeric{0, keyword::none, -104};
  std::string_view suffix = trim(std::string_view(u).substr(end));
  double scale = 1;
  if (!suffix.empty()) {
    const std::string base(1, unit);
    if (suffix == base)
      scale = 1;
    else if (suffix == "M" + base)
      scale = 1e-3;
    else if (suffix == "U" + base)
      scale = 1e-6;
    else
      return numeric{0, keyword::none, -131};
  }
  out.value = *v * scale;
  return out;
}

std::optional<bool> parse_switch(std::string_view p) {
  const std::string u = upper(p);
  if (u == "ON" || u == "1") return true;
  if (u == "OFF" || u == "0") return false;
  return std::nullopt;
}

const char* error_text(int code) {
  switch (code) {
    case -102:
      return "Syntax error";
    case -104:
      return "Data type error";
    case -108:
      return "Parameter not allowed";
    case -109:
      return "Missing parameter";
    case -113:
      return "Undefined header";
    case -131:
      return "Invalid suffix";
    case -221:
      return "Settings conflict";
    case -222:
      return "Data out of range";
    case -224:
      return "Illegal parameter value";
    case -300:
      return "Device-specific error";
    case -350:
      return "Queue overflow";
    case -363:
      return "Input buffer overrun";
    default:
      return "Command error";
  }
}

}  // namespace

struct scpi_psu_emulator::unit {
  std::vector<std::string_view> header;
  bool common = false;
  bool query = false;
  std::vector<std::string_view> params;
  bool syntax_error = false;
};

// ---------------------------------------------------------------------------------------------
// The instrument

scpi_psu_emulator::scpi_psu_emulator(scpi_psu::psu_model model, options opts)
    : model_(std::move(model)), opts_(std::move(opts)) {
  const int n = opts_.channels > 0 ? opts_.channels : model_.channel_count();
  for (int i = 0; i < n; ++i) {
    output c;
    c.rating = model_.channels[static_cast<std::size_t>(std::min(i, model_.channel_count() - 1))];
    if (i >= model_.channel_count()) c.rating.name = fmt::format("CH{}", i + 1);
    c.st.current_limit = c.rating.max_current;
    channels_.push_back(std::move(c));
  }
  if (opts_.serial.empty()) opts_.serial = model_.identity.serial;
}

void scpi_psu_emulator::push_error(int code, std::string_view text) {
  if (errors_.size() >= error_queue_size) {
    // SCPI-99 Vol 2 §21.8.1: on overflow the most recent entry is replaced by -350.
    errors_.back() = scpi::error_entry{-350, error_text(-350)};
    return;
  }
  errors_.push_back(scpi::error_entry{code, std::string(text)});
}

void scpi_psu_emulator::input_overrun() {
  std::lock_guard lk(mu_);
  push_error(-363, error_text(-363));
}

bool scpi_psu_emulator::delivering(const output& c) const noexcept {
  return c.st.output && (model_.dialect != "rs-ngp" || general_);
}

double scpi_psu_emulator::load_current(const output& c) const {
  const double v = c.st.voltage;
  double i = c.rail ? c.rail->current_at(v) : 0.0;
  if (opts_.load_ohms > 0) i += v / opts_.load_ohms;
  return i;
}

double scpi_psu_emulator::quantise(double v, double step) const noexcept {
  if (!(step > 0)) return v;
  return std::round(v / step) * step;
}

std::string scpi_psu_emulator::number(double v, double resolution) const {
  if (model_.dialect == "rs-ngp") {
    const int decimals =
        resolution > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(resolution) - 1e-9)))
                       : 6;
    return fmt::format("{:.{}f}", v, decimals);
  }
  return fmt::format("{:+.8E}", v);  // IEEE 488.2 NR3, the way E36xx answers
}

void scpi_psu_emulator::evaluate() {
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    auto& c = channels_[i];
    if (!delivering(c)) continue;
    const double amps = load_current(c);
    if (amps > c.st.current_limit * (1 + 1e-9) + 1e-12) {
      c.st.output = false;
      c.st.tripped = true;
      push_error(-300, fmt::format("{};over-current protection tripped on output {} ({:.4f} A "
                                   "above the {:.4f} A limit), output off",
                                   error_text(-300), i + 1, amps, c.st.current_limit));
    }
  }
  sync_rails();
}

void scpi_psu_emulator::sync_rails() {
  // The world model's power coupling: the devices on an output see the voltage it delivers. An
  // output turned off (or tripped, or set below a module's lockout) is a module pulled from
  // power; turned on again, the module goes through its power-on reset (CMIS 5.x §6.3.2: a
  // module powers up in MgmtInit, then ModuleLowPwr) — see cmis_module::set_powered.
  for (auto& c : channels_) {
    if (!c.rail) continue;
    const double v = delivering(c) ? c.st.voltage : 0.0;
    if (c.told && *c.told == v) continue;
    c.told = v;
    c.rail->set_source_volts(v);
  }
}

std::optional<int> scpi_psu_emulator::parse_channel_name(std::string_view p) const {
  const std::string u = upper(p);
  auto number_after = [&](std::string_view prefix) -> std::optional<int> {
    if (!std::string_view(u).starts_with(prefix)) return std::nullopt;
    std::string_view rest = std::string_view(u).substr(prefix.size());
    int v = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (rest.empty() || ec != std::errc{} || ptr != rest.data() + rest.size()) return std::nullopt;
    return v;
  };
  std::optional<int> ch;
  if (model_.dialect == "rs-ngp") {
    for (auto prefix : {"OUTPUT", "OUTP", "OUT", ""}) {
      if ((ch = number_after(prefix))) break;
    }
  } else {
    ch = number_after("CH");
    for (std::size_t i = 0; !ch && i < channels_.size(); ++i) {
      if (upper(channels_[i].rating.name) == u) ch = static_cast<int>(i + 1);
    }
  }
  if (!ch || *ch < 1 || *ch > channel_count()) return std::nullopt;
  return ch;
}

std::optional<std::string> scpi_psu_emulator::execute(const unit& u) {
  if (u.syntax_error) {
    push_error(-102, error_text(-102));
    return std::nullopt;
  }
  const cmd_def* def = nullptr;
  for (const auto& c : commands(model_.dialect)) {
    if (match(c.nodes, 0, u.header, 0)) {
      def = &c;
      break;
    }
  }
  if (!def || (u.query && !def->can_query) || (!u.query && !def->can_set)) {
    push_error(-113, error_text(-113));
    return std::nullopt;
  }
  auto& ch = channels_[static_cast<std::size_t>(selected_ - 1)];
  const bool keysight = model_.dialect != "rs-ngp";
  auto want_params = [&](std::size_t lo, std::size_t hi) {
    if (u.params.size() < lo) {
      push_error(-109, error_text(-109));
      return false;
    }
    if (u.params.size() > hi) {
      push_error(-108, error_text(-108));
      return false;
    }
    return true;
  };
  auto set_switch = [&](bool& target) -> bool {
    if (!want_params(1, 1)) return false;
    auto b = parse_switch(u.params[0]);
    if (!b) {
      push_error(-224, error_text(-224));
      return false;
    }
    target = *b;
    return true;
  };
  switch (def->id) {
    case cmd_id::idn:
      if (!want_params(0, 0)) return std::nullopt;
      return fmt::format("{},{},{},{}", model_.identity.manufacturer, model_.identity.model,
                         opts_.serial, model_.identity.firmware);
    case cmd_id::rst:
      if (!want_params(0, 0)) return std::nullopt;
      for (auto& c : channels_)
        c.st = channel_state{0, c.rating.max_current, false, false};
      selected_ = 1;
      general_ = false;
      return std::nullopt;
    case cmd_id::cls:
      if (!want_params(0, 0)) return std::nullopt;
      errors_.clear();
      return std::nullopt;
    case cmd_id::opc:
      if (!want_params(0, 0)) return std::nullopt;
      if (u.query) return std::string("1");
      return std::nullopt;
    case cmd_id::esr:
    case cmd_id::tst:
      if (!want_params(0, 0)) return std::nullopt;
      return std::string("0");
    case cmd_id::stb:
      if (!want_params(0, 0)) return std::nullopt;
      return std::to_string(errors_.empty() ? 0 : 4);  // bit 2: error/event queue not empty
    case cmd_id::wai:
    case cmd_id::syst_rem:
    case cmd_id::syst_loc:
      if (!want_params(0, 0)) return std::nullopt;
      return std::nullopt;
    case cmd_id::syst_err: {
      if (!want_params(0, 0)) return std::nullopt;
      scpi::error_entry e{0, "No error"};
      if (!errors_.empty()) {
        e = errors_.front();
        errors_.pop_front();
      }
      std::string text;
      for (char c : e.text)
        text += c == '"' ? std::string("\"\"") : std::string(1, c);
      return keysight ? fmt::format("{:+d},\"{}\"", e.code, text)
                      : fmt::format("{},\"{}\"", e.code, text);
    }
    case cmd_id::syst_err_count:
      if (!want_params(0, 0)) return std::nullopt;
      return std::to_string(errors_.size());
    case cmd_id::syst_vers:
      if (!want_params(0, 0)) return std::nullopt;
      return std::string("1999.0");
    case cmd_id::volt:
    case cmd_id::curr: {
      const bool volt = def->id == cmd_id::volt;
      const double max = volt ? ch.rating.max_voltage : ch.rating.max_current;
      const double res = volt ? model_.voltage_resolution : model_.current_resolution;
      if (u.query) {
        if (!want_params(0, 1)) return std::nullopt;
        double v = volt ? ch.st.voltage : ch.st.current_limit;
        if (u.params.size() == 1) {
          const auto n = parse_numeric(u.params[0], volt ? 'V' : 'A');
          if (n.kw == keyword::min)
            v = 0;
          else if (n.kw == keyword::max)
            v = max;
          else {
            push_error(-224, error_text(-224));
            return std::nullopt;
          }
        }
        return number(v, res);
      }
      if (!want_params(1, 1)) return std::nullopt;
      const auto n = parse_numeric(u.params[0], volt ? 'V' : 'A');
      if (n.error) {
        push_error(n.error, error_text(n.error));
        return std::nullopt;
      }
      double v = n.value;
      if (n.kw == keyword::min) v = 0;
      if (n.kw == keyword::max) v = max;
      if (n.kw == keyword::def) v = volt ? 0 : max;
      if (v < 0 || v > max + 1e-12) {
        push_error(-222, fmt::format("{};{} {} outside 0..{} on output {}", error_text(-222),
                                     volt ? "voltage" : "current", v, max, selected_));
        return std::nullopt;
      }
      (volt ? ch.st.voltage : ch.st.current_limit) = std::min(quantise(v, res), max);
      return std::nullopt;
    }
    case cmd_id::inst_nsel: {
      if (u.query) {
        if (!want_params(0, 0)) return std::nullopt;
        return std::to_string(selected_);
      }
      if (!want_params(1, 1)) return std::nullopt;
      const auto n = parse_numeric(u.params[0], 'X');
      if (n.error || n.kw != keyword::none || n.value != std::floor(n.value)) {
        push_error(-104, error_text(-104));
        return std::nullopt;
      }
      if (n.value < 1 || n.value > channel_count()) {
        push_error(-222, error_text(-222));
        return std::nullopt;
      }
      selected_ = static_cast<int>(n.value);
      return std::nullopt;
    }
    case cmd_id::inst_sel: {
      if (u.query) {
        if (!want_params(0, 0)) return std::nullopt;
        return keysight ? fmt::format("CH{}", selected_) : fmt::format("OUT{}", selected_);
      }
      if (!want_params(1, 1)) return std::nullopt;
      auto n = parse_channel_name(u.params[0]);
      if (!n) {
        push_error(-224, error_text(-224));
        return std::nullopt;
      }
      selected_ = *n;
      return std::nullopt;
    }
    case cmd_id::outp_state:
    case cmd_id::outp_sel: {
      if (u.query) {
        if (!want_params(0, 0)) return std::nullopt;
        return std::string(def->id == cmd_id::outp_state ? (delivering(ch) ? "1" : "0")
                                                         : (ch.st.output ? "1" : "0"));
      }
      bool on = false;
      if (!set_switch(on)) return std::nullopt;
      if (on && ch.st.tripped) {
        push_error(-221, fmt::format("{};output {} tripped on over-current: send "
                                     "OUTPut:PROTection:CLEar first",
                                     error_text(-221), selected_));
        return std::nullopt;
      }
      ch.st.output = on;
      if (def->id == cmd_id::outp_state && !keysight && on) general_ = true;
      return std::nullopt;
    }
    case cmd_id::outp_gen: {
      if (u.query) {
        if (!want_params(0, 0)) return std::nullopt;
        return std::string(general_ ? "1" : "0");
      }
      set_switch(general_);
      return std::nullopt;
    }
    case cmd_id::outp_prot_clear:
      if (!want_params(0, 0)) return std::nullopt;
      ch.st.tripped = false;
      return std::nullopt;
    case cmd_id::meas_volt:
    case cmd_id::meas_curr: {
      if (!want_params(0, 0)) return std::nullopt;
      const bool volt = def->id == cmd_id::meas_volt;
      double v = 0;
      if (delivering(ch)) v = volt ? ch.st.voltage : load_current(ch);
      const double res = volt ? model_.voltage_resolution : model_.current_resolution;
      return number(quantise(v, res), res);
    }
  }
  push_error(-113, error_text(-113));
  return std::nullopt;
}

std::optional<std::string> scpi_psu_emulator::handle(std::string_view message) {
  std::lock_guard lk(mu_);
  ++messages_;
  evaluate();  // the load may have changed since the last message
  std::vector<std::string> responses;
  for (std::string_view raw : split(message, ';')) {
    std::string_view s = trim(raw);
    if (s.empty()) continue;
    unit u;
    const std::size_t ws = std::min(s.find_first_of(" \t"), s.size());
    std::string_view header = s.substr(0, ws);
    std::string_view params = trim(s.substr(ws));
    if (!header.empty() && header.back() == '?') {
      u.query = true;
      header.remove_suffix(1);
    }
    if (!header.empty() && header.front() == ':') header.remove_prefix(1);
    u.common = !header.empty() && header.front() == '*';
    for (std::string_view k : split(header, ':')) {
      if (k.empty()) u.syntax_error = true;
      for (char c : k) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '*') u.syntax_error = true;
      }
      u.header.push_back(k);
    }
    if (!params.empty()) {
      for (std::string_view p : split(params, ',')) {
        p = trim(p);
        if (p.empty()) u.syntax_error = true;
        u.params.push_back(p);
      }
    }
    if (auto r = execute(u)) responses.push_back(std::move(*r));
    evaluate();
  }
  if (responses.empty()) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < responses.size(); ++i) {
    if (i) out += ';';  // IEEE 488.2 §8.4.1 <RESPONSE MESSAGE UNIT SEPARATOR>
    out += responses[i];
  }
  return out;
}

void scpi_psu_emulator::set_rail(int ch, std::shared_ptr<power_rail> rail) {
  std::lock_guard lk(mu_);
  if (ch < 1 || ch > channel_count()) return;
  auto& c = channels_[static_cast<std::size_t>(ch - 1)];
  c.rail = std::move(rail);
  c.told.reset();
  sync_rails();
}

void scpi_psu_emulator::set_output(int ch, double volts, double amps, bool on) {
  std::lock_guard lk(mu_);
  if (ch < 1 || ch > channel_count()) return;
  auto& c = channels_[static_cast<std::size_t>(ch - 1)];
  c.st.voltage = quantise(volts, model_.voltage_resolution);
  c.st.current_limit = quantise(amps, model_.current_resolution);
  c.st.output = on;
  if (on) general_ = true;
  sync_rails();
}

scpi_psu_emulator::channel_state scpi_psu_emulator::channel(int ch) const {
  std::lock_guard lk(mu_);
  if (ch < 1 || ch > channel_count()) return {};
  return channels_[static_cast<std::size_t>(ch - 1)].st;
}

double scpi_psu_emulator::measured_voltage(int ch) {
  std::lock_guard lk(mu_);
  if (ch < 1 || ch > channel_count()) return 0;
  evaluate();
  const auto& c = channels_[static_cast<std::size_t>(ch - 1)];
  return delivering(c) ? quantise(c.st.voltage, model_.voltage_resolution) : 0.0;
}

double scpi_psu_emulator::measured_current(int ch) {
  std::lock_guard lk(mu_);
  if (ch < 1 || ch > channel_count()) return 0;
  evaluate();
  const auto& c = channels_[static_cast<std::size_t>(ch - 1)];
  return delivering(c) ? quantise(load_current(c), model_.current_resolution) : 0.0;
}

std::vector<scpi::error_entry> scpi_psu_emulator::errors() const {
  std::lock_guard lk(mu_);
  return {errors_.begin(), errors_.end()};
}

std::uint64_t scpi_psu_emulator::messages() const {
  std::lock_guard lk(mu_);
  return messages_;
}

std::string scpi_psu_emulator::describe(const std::string& label) {
  std::lock_guard lk(mu_);
  evaluate();
  std::string out = fmt::format("{} {}", label, model_.name);
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    const auto& c = channels_[i];
    if (delivering(c)) {
      out += fmt::format(" ch{}={:.3f}V/{:.3f}A on {:.3f}A", i + 1, c.st.voltage,
                         c.st.current_limit, load_current(c));
    } else {
      out += fmt::format(" ch{}=off{}", i + 1, c.st.tripped ? "(tripped)" : "");
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The line server

line_server::line_server(asio::any_io_executor ex, handler h, std::function<void()> on_overrun)
    : ex_(std::move(ex)),
      handler_(std::move(h)),
      on_overrun_(std::move(on_overrun)),
      acceptor_(ex_) {}

line_server::~line_server() {
  stop();
}

void line_server::start(const std::string& host, std::uint16_t port) {
  const asio::ip::tcp::endpoint ep(asio::ip::make_address(host), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
  port_ = acceptor_.local_endpoint().port();
  asio::co_spawn(
      ex_, [self = shared_from_this()] { return self->accept_loop(); }, asio::detached);
}

void line_server::stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  std::vector<std::weak_ptr<asio::ip::tcp::socket>> sockets;
  {
    std::lock_guard lk(mu_);
    sockets.swap(sockets_);
  }
  for (auto& w : sockets) {
    if (auto s = w.lock()) s->close(ignored);
  }
}

void line_server::inject(line_fault f, int count) {
  std::lock_guard lk(mu_);
  fault_ = f;
  fault_count_ = f == line_fault::none ? 0 : count;
}

line_fault line_server::take_fault(bool has_response) {
  std::lock_guard lk(mu_);
  if (fault_ == line_fault::none || fault_count_ == 0) return line_fault::none;
  if (fault_ == line_fault::garbage && !has_response) return line_fault::none;
  const line_fault f = fault_;
  if (fault_count_ > 0 && --fault_count_ == 0) fault_ = line_fault::none;
  return f;
}

asio::awaitable<void> line_server::accept_loop() {
  for (;;) {
    auto s = std::make_shared<asio::ip::tcp::socket>(ex_);
    auto [ec] = co_await acceptor_.async_accept(*s, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      // Out of descriptors or similar: do not spin; try again shortly.
      asio::steady_timer pause(ex_, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    boost::system::error_code ignored;
    s->set_option(asio::ip::tcp::no_delay(true), ignored);
    ++connections_;
    {
      std::lock_guard lk(mu_);
      std::erase_if(sockets_, [](const auto& w) { return w.expired(); });
      sockets_.push_back(s);
    }
    asio::co_spawn(
        ex_, [self = shared_from_this(), s] { return self->session(s); }, asio::detached);
  }
}

asio::awaitable<void> line_server::session(std::shared_ptr<asio::ip::tcp::socket> s) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  std::string buf;
  bool skipping = false;  // discarding the rest of an overlong line
  for (;;) {
    auto [ec, n] =
        co_await asio::async_read_until(*s, asio::dynamic_buffer(buf, max_line), '\n', use_tuple);
    if (ec == asio::error::not_found) {
      // IEEE 488.2 §6.1.6: input buffer overrun; drop what we have and resynchronise at the
      // next line end.
      if (!skipping && on_overrun_) on_overrun_();
      skipping = true;
      buf.clear();
      continue;
    }
    if (ec) co_return;
    std::string line = buf.substr(0, n - 1);
    buf.erase(0, n);
    if (skipping) {
      skipping = false;
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    ++lines_;
    const line_fault early = take_fault(false);
    if (early == line_fault::drop) {
      boost::system::error_code ignored;
      s->shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      s->close(ignored);
      co_return;
    }
    if (early == line_fault::stall) continue;
    std::optional<std::string> reply = handler_(line);
    if (!reply) continue;
    if (take_fault(true) == line_fault::garbage) {
      *reply = std::string("\x01\xfe#9garbage\x7f\xff", 13);
    }
    reply->push_back('\n');
    auto [wec, wn] = co_await asio::async_write(*s, asio::buffer(*reply), use_tuple);
    (void)wn;
    if (wec) co_return;
  }
}

}  // namespace hilt::emu
