#include "hilt/emu/asic.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "hilt/emu/cmis_link.hpp"
#include "hilt/emu/serdes.hpp"

namespace hilt::emu {

namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}

// --- Random draws (splitmix64 streams, world.hpp) ------------------------------------------------

double normal01(std::uint64_t& rng) {
  const double u1 = std::max(uniform01(rng), 1e-300);
  const double u2 = uniform01(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.14159265358979323846 * u2);
}

// Binomial(n, q): exact inversion of the cumulative distribution while the mean is below 64 (the
// pmf recurrence P(k+1) = P(k) (n-k)/(k+1) q/(1-q) from P(0) = (1-q)^n), else a rounded normal
// N(nq, nq(1-q)) clamped to [0, n] — at a mean of 64 and more the normal's error is far below the
// sampling noise of any test. Symmetric for q > 1/2.
std::uint64_t binomial(std::uint64_t n, double q, std::uint64_t& rng) {
  if (n == 0 || !(q > 0)) return 0;
  if (q >= 1) return n;
  if (q > 0.5) return n - binomial(n, 1.0 - q, rng);
  const double nd = static_cast<double>(n);
  const double mean = nd * q;
  if (mean < 64) {
    const double u = uniform01(rng);
    double p = std::exp(nd * std::log1p(-q));
    double cdf = p;
    std::uint64_t k = 0;
    const double r = q / (1.0 - q);
    while (u > cdf && k < n && k < 4096) {
      p *= (nd - static_cast<double>(k)) / static_cast<double>(k + 1) * r;
      ++k;
      cdf += p;
    }
    return k;
  }
  const double k = std::round(mean + std::sqrt(mean * (1.0 - q)) * normal01(rng));
  if (k <= 0) return 0;
  if (k >= nd) return n;
  return static_cast<std::uint64_t>(k);
}

// --- SAI names (docs/asic.md; written from SAI's saiport.h, independently of drivers/sai_rpc) ---

constexpr const char* attr_pattern = "SAI_PORT_ATTR_PRBS_PATTERN";
constexpr const char* attr_config = "SAI_PORT_ATTR_PRBS_CONFIG";
constexpr const char* attr_counters = "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS";
constexpr const char* attr_ber = "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST";
constexpr const char* attr_fec = "SAI_PORT_ATTR_FEC_MODE_EXTENDED";
constexpr const char* attr_oper = "SAI_PORT_ATTR_OPER_STATUS";
constexpr const char* attr_sd = "SAI_PORT_ATTR_RX_SIGNAL_DETECT";
constexpr const char* attr_lock = "SAI_PORT_ATTR_RX_LOCK_STATUS";
constexpr const char* fir_pre1 = "SAI_PORT_SERDES_ATTR_TX_FIR_PRE1";
constexpr const char* fir_main = "SAI_PORT_SERDES_ATTR_TX_FIR_MAIN";
constexpr const char* fir_post1 = "SAI_PORT_SERDES_ATTR_TX_FIR_POST1";
constexpr const char* sw_max_temp = "SAI_SWITCH_ATTR_MAX_TEMP";
constexpr const char* sw_power = "HILT_SWITCH_ATTR_POWER";
constexpr const char* stat_corr = "SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES";
constexpr const char* stat_uncorr = "SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES";
constexpr const char* stat_sym = "SAI_PORT_STAT_IF_IN_FEC_SYMBOL_ERRORS";
constexpr const char* stat_bits = "SAI_PORT_STAT_IF_IN_FEC_CORRECTED_BITS";
constexpr std::string_view stat_bin_prefix = "SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S";

constexpr std::array<std::pair<hilt::prbs_pattern, const char*>, 13> pattern_names{{
    {hilt::prbs_pattern::prbs7, "PRBS7"},
    {hilt::prbs_pattern::prbs9, "PRBS9"},
    {hilt::prbs_pattern::prbs13, "PRBS13"},
    {hilt::prbs_pattern::prbs15, "PRBS15"},
    {hilt::prbs_pattern::prbs23, "PRBS23"},
    {hilt::prbs_pattern::prbs31, "PRBS31"},
    {hilt::prbs_pattern::prbs7q, "PRBS7Q"},
    {hilt::prbs_pattern::prbs9q, "PRBS9Q"},
    {hilt::prbs_pattern::prbs13q, "PRBS13Q"},
    {hilt::prbs_pattern::prbs15q, "PRBS15Q"},
    {hilt::prbs_pattern::prbs23q, "PRBS23Q"},
    {hilt::prbs_pattern::prbs31q, "PRBS31Q"},
    {hilt::prbs_pattern::ssprq, "SSPRQ"},
}};
constexpr std::array<std::pair<hilt::prbs_config, const char*>, 4> config_names{{
    {hilt::prbs_config::disable, "SAI_PORT_PRBS_CONFIG_DISABLE"},
    {hilt::prbs_config::enable_tx_rx, "SAI_PORT_PRBS_CONFIG_ENABLE_TX_RX"},
    {hilt::prbs_config::enable_rx, "SAI_PORT_PRBS_CONFIG_ENABLE_RX"},
    {hilt::prbs_config::enable_tx, "SAI_PORT_PRBS_CONFIG_ENABLE_TX"},
}};
constexpr std::array<std::pair<hilt::fec_mode, const char*>, 3> fec_names{{
    {hilt::fec_mode::none, "SAI_PORT_FEC_MODE_EXTENDED_NONE"},
    {hilt::fec_mode::rs528, "SAI_PORT_FEC_MODE_EXTENDED_RS528"},
    {hilt::fec_mode::rs544, "SAI_PORT_FEC_MODE_EXTENDED_RS544"},
}};

template <class E, std::size_t N>
const char* name_of(const std::array<std::pair<E, const char*>, N>& t, E v) {
  for (const auto& [e, n] : t) {
    if (e == v) return n;
  }
  return "?";
}
template <class E, std::size_t N>
std::optional<E> parse_name(const std::array<std::pair<E, const char*>, N>& t, std::string_view s) {
  for (const auto& [e, n] : t) {
    if (s == n) return e;
  }
  return std::nullopt;
}

// RS(n, k) with 10-bit symbols: codeword length in symbols and correctable symbols t
// (IEEE 802.3 cl.91: RS(528,514) t = 7, RS(544,514) t = 15).
int fec_symbols(hilt::fec_mode m) noexcept {
  return m == hilt::fec_mode::rs544 ? 544 : m == hilt::fec_mode::rs528 ? 528 : 0;
}
int fec_t(hilt::fec_mode m) noexcept {
  return m == hilt::fec_mode::rs544 ? 15 : m == hilt::fec_mode::rs528 ? 7 : 0;
}

// A request that cannot be served: the SAI status and a line for a human.
struct bad_request {
  const char* status;
  std::string message;
};
constexpr const char* st_param = "SAI_STATUS_INVALID_PARAMETER";
constexpr const char* st_port = "SAI_STATUS_INVALID_PORT_NUMBER";
constexpr const char* st_attr = "SAI_STATUS_INVALID_ATTRIBUTE_0";
constexpr const char* st_value = "SAI_STATUS_INVALID_ATTR_VALUE_0";
constexpr const char* st_unsupported = "SAI_STATUS_NOT_SUPPORTED";

std::optional<std::int64_t> int_field(const json& j) {
  if (j.is_number_integer()) return j.get<std::int64_t>();
  if (j.is_number_unsigned()) {
    const auto v = j.get<std::uint64_t>();
    if (v <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v);
  }
  return std::nullopt;
}

std::string dump(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

ojson fail(const char* status, const std::string& message) {
  ojson r;
  r["ok"] = false;
  r["status"] = status;
  r["message"] = message;
  return r;
}

// SAI sai_prbs_bit_error_rate_t: BER = mantissa x 10^-exponent (three significant digits).
std::pair<std::uint64_t, int> ber_mantissa(std::uint64_t errors, std::uint64_t bits) {
  if (bits == 0 || errors == 0) return {0, 0};
  const double ber = static_cast<double>(errors) / static_cast<double>(bits);
  int e = static_cast<int>(std::ceil(-std::log10(ber))) + 2;
  e = std::clamp(e, 0, 255);
  return {static_cast<std::uint64_t>(std::llround(ber * std::pow(10.0, e))), e};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Presets: ASIC models are data.

std::optional<asic_options> asic_preset(std::string_view name) {
  asic_options o;
  if (name == "51t2") {
    o.model = "EMU-ASIC-51T2";
    o.port_groups = {{1, 64, 8, 106.25e9}};
    o.idle_w = 180;
    o.lane_w = 0.25;
    return o;
  }
  if (name == "25t6") {
    o.model = "EMU-ASIC-25T6";
    o.port_groups = {{1, 64, 8, 53.125e9}};
    o.idle_w = 120;
    o.lane_w = 0.18;
    o.thermal_resistance_c_per_w = 0.12;
    return o;
  }
  if (name == "12t8") {
    o.model = "EMU-ASIC-12T8";
    o.port_groups = {{1, 32, 8, 53.125e9}};
    o.idle_w = 80;
    o.lane_w = 0.18;
    o.thermal_resistance_c_per_w = 0.18;
    return o;
  }
  return std::nullopt;
}

std::vector<std::string> asic_preset_names() {
  return {"51t2", "25t6", "12t8"};
}

// ---------------------------------------------------------------------------------------------

emulated_asic::emulated_asic(std::shared_ptr<const world> w, asic_options opts, std::uint64_t seed)
    : world_(std::move(w)), opts_(std::move(opts)), seed_(seed) {
  int last = 0;
  for (const auto& g : opts_.port_groups)
    last = std::max(last, g.first + g.count - 1);
  ports_.resize(static_cast<std::size_t>(std::max(0, last)));
  for (const auto& g : opts_.port_groups) {
    for (int p = g.first; p < g.first + g.count; ++p) {
      auto& ps = ports_[static_cast<std::size_t>(p - 1)];
      ps.lanes = g.lanes;
      ps.lane_rate = g.lane_rate;
      ps.lane.resize(static_cast<std::size_t>(g.lanes));
      ps.hist.assign(17, 0);
      std::uint64_t s = seed_ ^ (0xA5A5A5A5ull * static_cast<std::uint64_t>(p));
      ps.fec_rng = splitmix64(s);
      for (int l = 0; l < g.lanes; ++l) {
        auto& ls = ps.lane[static_cast<std::size_t>(l)];
        ls.taps = default_fir();
        std::uint64_t t =
            seed_ ^ (0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(p * 64 + l + 1));
        ls.rng = splitmix64(t);
      }
      ps.no_lock = opts_.no_lock_ports.count(p) > 0;
      if (auto it = opts_.forced_ber.find(p); it != opts_.forced_ber.end())
        ps.forced_ber = it->second;
    }
  }
  const auto now = world_->now();
  for (auto& p : ports_)
    p.t = now;
  thermal_t0_ = now;
  thermal_t0_c_ = world_->ambient_c() + heat_w() * opts_.thermal_resistance_c_per_w;
}

emulated_asic::port_state* emulated_asic::port_ptr(int port) noexcept {
  if (port < 1 || port > static_cast<int>(ports_.size())) return nullptr;
  auto& p = ports_[static_cast<std::size_t>(port - 1)];
  return p.lanes > 0 ? &p : nullptr;
}
const emulated_asic::port_state* emulated_asic::port_ptr(int port) const noexcept {
  return const_cast<emulated_asic*>(this)->port_ptr(port);
}

bool emulated_asic::has_port(int port) const noexcept {
  return port_ptr(port) != nullptr;
}
int emulated_asic::lanes_of(int port) const noexcept {
  const auto* p = port_ptr(port);
  return p ? p->lanes : 0;
}
double emulated_asic::lane_rate_of(int port) const noexcept {
  const auto* p = port_ptr(port);
  return p ? p->lane_rate : 0;
}
int emulated_asic::total_lanes() const noexcept {
  int n = 0;
  for (const auto& p : ports_)
    n += p.lanes;
  return n;
}

bool emulated_asic::rx_enabled(const port_state& p) const noexcept {
  return p.config == hilt::prbs_config::enable_rx || p.config == hilt::prbs_config::enable_tx_rx;
}
bool emulated_asic::tx_enabled(const port_state& p) const noexcept {
  return p.config == hilt::prbs_config::enable_tx || p.config == hilt::prbs_config::enable_tx_rx;
}

void emulated_asic::attach_links(std::shared_ptr<const link_graph> g) {
  std::lock_guard lock(world_->coupling_mutex());
  graph_ = std::move(g);
}

line_signal emulated_asic::lane_output(int port, int lane) const {
  std::lock_guard lock(world_->coupling_mutex());
  line_signal s;
  const auto* p = port_ptr(port);
  if (!p || lane < 1 || lane > p->lanes) return s;
  // A SerDes always transmits: the PRBS while the generator runs, else data (idles).
  s.present = true;
  if (tx_enabled(*p)) s.pattern = p->pattern;
  return s;
}

hilt::tx_fir emulated_asic::lane_taps(int port, int lane) const {
  std::lock_guard lock(world_->coupling_mutex());
  const auto* p = port_ptr(port);
  if (!p || lane < 1 || lane > p->lanes) return default_fir();
  return p->lane[static_cast<std::size_t>(lane - 1)].taps;
}

line_signal emulated_asic::lane_input(int port, int lane, time_point at) const {
  const auto* p = port_ptr(port);
  line_signal s;
  if (!p) return s;
  if (graph_ && graph_->asic_linked(this, port, lane)) {
    s = graph_->asic_input(this, port, lane, at);
  } else if (opts_.loopback) {
    // A loopback plug in the cage: the lane's own Tx through a short channel.
    s = lane_output(port, lane);
    const double q =
        serdes_channel(p->lane[static_cast<std::size_t>(lane - 1)].taps, opts_.loopback_loss_db).q;
    s.inv_q2 += q > 0 ? 1.0 / (q * q) : HUGE_VAL;
  }
  if (p->forced_ber) {
    if (!s.present) {
      s.present = true;
      s.pattern = tx_enabled(*p) ? std::optional(p->pattern) : std::nullopt;
    }
    s.ber = *p->forced_ber;
    s.inv_q2 = 0;
  }
  return s;
}

void emulated_asic::update_status(lane_state& l, const line_signal& s) {
  const bool sd = s.present;
  // A CDR holds lock on a signal whose BER is below about 1e-2.
  const bool cdr = sd && s.total_ber() < 1e-2;
  if (sd != l.sd) l.sd_changed = true;
  if (cdr != l.cdr) l.cdr_changed = true;
  l.sd = sd;
  l.cdr = cdr;
}

double emulated_asic::heat_w() const noexcept {
  int active = 0;
  for (const auto& p : ports_) {
    if (p.lanes > 0 && (tx_enabled(p) || p.fec != hilt::fec_mode::none)) active += p.lanes;
  }
  return opts_.idle_w + opts_.lane_w * active;
}

double emulated_asic::temperature_at(time_point t) const noexcept {
  const double steady = world_->ambient_c() + heat_w() * opts_.thermal_resistance_c_per_w;
  if (t <= thermal_t0_) return thermal_t0_c_;
  const double dt = seconds(t - thermal_t0_);
  return steady + (thermal_t0_c_ - steady) * std::exp(-dt / opts_.thermal_time_constant_s);
}

void emulated_asic::settle_thermal(time_point t) {
  thermal_t0_c_ = temperature_at(t);
  thermal_t0_ = std::max(t, thermal_t0_);
}

void emulated_asic::draw_fec(port_state& p, double ber, double codewords) {
  const double total = codewords + p.cw_residue;
  const double whole = std::floor(total);
  p.cw_residue = total - whole;
  if (whole < 1) return;
  auto n_cw = static_cast<std::uint64_t>(whole);
  const int n = fec_symbols(p.fec), t = fec_t(p.fec);
  ber = std::clamp(ber, 0.0, 0.5);
  if (!(ber > 0)) {
    p.hist[0] += n_cw;
    return;
  }
  if (ber != p.pmf_ber || p.fec != p.pmf_mode) {
    // Symbol error probability of a 10-bit symbol: 1 - (1 - p)^10.
    const double ps = -std::expm1(10.0 * std::log1p(-ber));
    // pmf of Binomial(n, ps) and the mass from k on (summed from the top: exact for small tails).
    std::vector<double> pmf(static_cast<std::size_t>(n + 1));
    const double lf = std::lgamma(n + 1.0), lp = std::log(ps), lq = std::log1p(-ps);
    for (int k = 0; k <= n; ++k) {
      pmf[static_cast<std::size_t>(k)] =
          std::exp(lf - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * lp + (n - k) * lq);
    }
    std::vector<double> from(static_cast<std::size_t>(n + 2), 0.0);
    for (int k = n; k >= 0; --k)
      from[static_cast<std::size_t>(k)] =
          from[static_cast<std::size_t>(k + 1)] + pmf[static_cast<std::size_t>(k)];
    p.cond.assign(static_cast<std::size_t>(t + 1), 1.0);
    for (int k = 0; k <= t; ++k) {
      const double mass = from[static_cast<std::size_t>(k)];
      p.cond[static_cast<std::size_t>(k)] =
          mass > 0 ? std::min(1.0, pmf[static_cast<std::size_t>(k)] / mass) : 1.0;
    }
    p.excess_bits = std::max(0.0, 10.0 * ber / ps - 1.0);
    p.pmf_ber = ber;
    p.pmf_mode = p.fec;
  }
  // Multinomial by sequential conditional binomials: S_k ~ Binomial(remaining, pmf_k / mass
  // from k on); the rest (beyond t) is uncorrectable.
  std::uint64_t new_symbols = 0;
  for (int k = 0; k <= t && n_cw > 0; ++k) {
    const double q = p.cond[static_cast<std::size_t>(k)];
    const std::uint64_t x = binomial(n_cw, q, p.fec_rng);
    p.hist[static_cast<std::size_t>(k)] += x;
    new_symbols += static_cast<std::uint64_t>(k) * x;
    n_cw -= x;
  }
  p.hist[static_cast<std::size_t>(t + 1)] += n_cw;
  p.symbol_errors += new_symbols;
  // Bits per corrected symbol: 1 + Poisson with the mean excess 10 p / ps - 1 (a symbol in error
  // has at least one bit in error; the excess is tiny at any BER a link runs at).
  p.corrected_bits +=
      new_symbols + poisson(static_cast<double>(new_symbols) * p.excess_bits, p.fec_rng);
}

void emulated_asic::count_port(int port, port_state& p, time_point a, time_point b) {
  const double dt = seconds(b - a);
  if (dt <= 0) return;
  const bool rx = rx_enabled(p);
  bool all_locked = true;
  double ber_sum = 0;
  for (int l = 1; l <= p.lanes; ++l) {
    auto& ls = p.lane[static_cast<std::size_t>(l - 1)];
    const line_signal s = lane_input(port, l, a);
    update_status(ls, s);
    const double ber = s.total_ber();
    all_locked = all_locked && ls.cdr;
    ber_sum += ber;
    if (!rx) continue;
    const bool lock = ls.cdr && !p.no_lock && s.pattern && *s.pattern == p.pattern;
    if (lock) {
      ls.locked = true;
      const double n = p.lane_rate * dt + ls.bit_residue;
      const double whole = std::floor(n);
      ls.bit_residue = n - whole;
      const auto bits = static_cast<std::uint64_t>(whole);
      ls.bits += bits;
      ls.errors += poisson(static_cast<double>(bits) * ber, ls.rng);
    } else {
      ls.locked = false;
      ls.lock_lost = true;  // lost, or never gained
    }
  }
  if (p.fec != hilt::fec_mode::none && all_locked && p.lanes > 0) {
    // Codewords decoded: port bit rate / codeword bits (RS-544: 544 x 10 = 5440 bits).
    const double cw = p.lane_rate * p.lanes * dt / (10.0 * fec_symbols(p.fec));
    draw_fec(p, ber_sum / p.lanes, cw);
  }
}

void emulated_asic::settle_port(int port, time_point now) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p || depth_ > 0 || now <= p->t) return;
  ++depth_;
  if (rx_enabled(*p) || p->fec != hilt::fec_mode::none) count_port(port, *p, p->t, now);
  p->t = now;
  --depth_;
}

void emulated_asic::settle(time_point now) {
  std::lock_guard lock(world_->coupling_mutex());
  if (depth_ > 0) return;
  for (int port = 1; port <= static_cast<int>(ports_.size()); ++port)
    settle_port(port, now);
}

void emulated_asic::before_change(time_point now) {
  if (graph_) {
    graph_->settle(now);
  }
  settle(now);
}

void emulated_asic::force_ber(int port, std::optional<double> ber) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p) return;
  before_change(world_->now());
  p->forced_ber = ber;
}

void emulated_asic::set_prbs(int port, hilt::prbs_pattern pattern, hilt::prbs_config config) {
  std::lock_guard lock(world_->coupling_mutex());
  set_prbs_pattern(port, pattern);
  set_prbs_config(port, config);
}

void emulated_asic::set_prbs_pattern(int port, hilt::prbs_pattern pattern) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p) return;
  before_change(world_->now());
  p->pattern = pattern;
}

void emulated_asic::set_prbs_config(int port, hilt::prbs_config config) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p) return;
  const auto now = world_->now();
  before_change(now);
  settle_thermal(now);  // the load changes with the generator
  p->config = config;
  if (rx_enabled(*p)) {
    // SAI: enabling the receiver restarts its counters.
    for (auto& l : p->lane) {
      l.bits = l.errors = 0;
      l.bit_residue = 0;
      l.locked = false;
      l.lock_lost = false;
    }
  } else {
    for (auto& l : p->lane)
      l.locked = false;
  }
}

hilt::prbs_pattern emulated_asic::prbs_pattern(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto* p = port_ptr(port);
  return p ? p->pattern : hilt::prbs_pattern::prbs31;
}

hilt::prbs_config emulated_asic::prbs_config(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto* p = port_ptr(port);
  return p ? p->config : hilt::prbs_config::disable;
}

std::vector<hilt::prbs_lane_status> emulated_asic::prbs_read(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  std::vector<hilt::prbs_lane_status> out;
  auto* p = port_ptr(port);
  if (!p) return out;
  settle_port(port, world_->now());
  for (int l = 1; l <= p->lanes; ++l) {
    auto& ls = p->lane[static_cast<std::size_t>(l - 1)];
    hilt::prbs_lane_status s;
    s.lane = l;
    s.side = hilt::side::none;
    s.locked = rx_enabled(*p) && ls.locked;
    s.lost_lock = rx_enabled(*p) && (ls.lock_lost || !ls.locked);
    s.bits = ls.bits;
    s.errors = ls.errors;
    s.ber = ls.bits ? static_cast<double>(ls.errors) / static_cast<double>(ls.bits) : 0.0;
    // Read clears the latch; a condition that persists latches again at the next count.
    ls.lock_lost = false;
    out.push_back(s);
  }
  return out;
}

void emulated_asic::set_fec_mode(int port, hilt::fec_mode mode) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p) return;
  const auto now = world_->now();
  before_change(now);
  settle_thermal(now);
  p->fec = mode;
  std::fill(p->hist.begin(), p->hist.end(), 0);
  p->symbol_errors = p->corrected_bits = 0;
  p->cw_residue = 0;
}

hilt::fec_mode emulated_asic::fec_mode(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  const auto* p = port_ptr(port);
  return p ? p->fec : hilt::fec_mode::none;
}

hilt::fec_counters emulated_asic::fec_read(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  hilt::fec_counters c;
  c.counter_bits = opts_.counter_bits;
  auto* p = port_ptr(port);
  if (!p) return c;
  settle_port(port, world_->now());
  c.mode = p->fec;
  c.max_correctable = hilt::fec_max_correctable(p->fec);
  const std::uint64_t mask =
      opts_.counter_bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << opts_.counter_bits) - 1;
  if (p->fec == hilt::fec_mode::none) return c;
  const int t = fec_t(p->fec);
  std::uint64_t corr = 0;
  for (int k = 1; k <= t; ++k)
    corr += p->hist[static_cast<std::size_t>(k)];
  c.correctable = corr & mask;
  c.uncorrectable = p->hist[static_cast<std::size_t>(t + 1)] & mask;
  c.symbol_errors = p->symbol_errors & mask;
  c.corrected_bits = p->corrected_bits & mask;
  for (int k = 0; k <= t + 1; ++k)
    c.histogram.push_back(p->hist[static_cast<std::size_t>(k)] & mask);
  return c;
}

void emulated_asic::clear_fec(int port) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p) return;
  settle_port(port, world_->now());
  std::fill(p->hist.begin(), p->hist.end(), 0);
  p->symbol_errors = p->corrected_bits = 0;
}

hilt::asic_link_status emulated_asic::link_status(int port) {
  return link_status(port, true, true);
}

hilt::asic_link_status emulated_asic::link_status(int port, bool clear_signal, bool clear_lock) {
  std::lock_guard lock(world_->coupling_mutex());
  hilt::asic_link_status st;
  auto* p = port_ptr(port);
  if (!p) return st;
  const auto now = world_->now();
  settle_port(port, now);
  ++depth_;
  st.up = p->lanes > 0;
  for (int l = 1; l <= p->lanes; ++l) {
    auto& ls = p->lane[static_cast<std::size_t>(l - 1)];
    update_status(ls, lane_input(port, l, now));
    hilt::asic_lane_status s;
    s.lane = l;
    s.signal_detect = ls.sd;
    s.cdr_lock = ls.cdr;
    s.signal_lost = ls.sd_changed;
    s.lock_lost = ls.cdr_changed;
    if (clear_signal) ls.sd_changed = false;
    if (clear_lock) ls.cdr_changed = false;
    st.up = st.up && ls.cdr;
    st.lanes.push_back(s);
  }
  --depth_;
  return st;
}

hilt::tx_fir emulated_asic::set_tx_fir(int port, int lane, const hilt::tx_fir& taps) {
  std::lock_guard lock(world_->coupling_mutex());
  auto* p = port_ptr(port);
  if (!p || lane < 1 || lane > p->lanes) return {};
  before_change(world_->now());
  auto& t = p->lane[static_cast<std::size_t>(lane - 1)].taps;
  t = quantise_fir(taps);
  return t;
}

hilt::tx_fir emulated_asic::tx_fir(int port, int lane) {
  return lane_taps(port, lane);
}

double emulated_asic::die_temperature_c() {
  std::lock_guard lock(world_->coupling_mutex());
  return temperature_at(world_->now());
}

double emulated_asic::power_w() {
  std::lock_guard lock(world_->coupling_mutex());
  return heat_w();
}

std::string emulated_asic::describe() {
  std::lock_guard lock(world_->coupling_mutex());
  int prbs_tx = 0, prbs_rx = 0, fec = 0;
  for (const auto& p : ports_) {
    if (p.lanes == 0) continue;
    prbs_tx += tx_enabled(p) ? 1 : 0;
    prbs_rx += rx_enabled(p) ? 1 : 0;
    fec += p.fec != hilt::fec_mode::none ? 1 : 0;
  }
  return fmt::format("{} {} ports={} lanes={} prbs_tx={} prbs_rx={} fec={} power={:.1f}W "
                     "die={:.1f}C sn={}",
                     opts_.label, opts_.model, opts_.port_groups.empty() ? 0 : [&] {
                       int n = 0;
                       for (const auto& g : opts_.port_groups) n += g.count;
                       return n;
                     }(),
                     total_lanes(), prbs_tx, prbs_rx, fec, heat_w(),
                     temperature_at(world_->now()), opts_.serial);
}

// ---------------------------------------------------------------------------------------------
// The wire (docs/asic.md)

std::optional<std::string> emulated_asic::handle(std::string_view line) {
  try {
    std::lock_guard lock(world_->coupling_mutex());
    return handle_locked(line);
  } catch (const std::exception& e) {
    return dump(fail("SAI_STATUS_FAILURE", fmt::format("internal error: {}", e.what())));
  } catch (...) {
    return dump(fail("SAI_STATUS_FAILURE", "internal error"));
  }
}

std::string emulated_asic::handle_locked(std::string_view line) {
  const json req = json::parse(line.begin(), line.end(), nullptr, false);
  if (req.is_discarded() || !req.is_object()) {
    return dump(fail(st_param, "the request is not a JSON object"));
  }
  auto field = [&](const char* key) -> const json* {
    auto it = req.find(key);
    return it == req.end() ? nullptr : &*it;
  };
  const json* op_j = field("op");
  if (!op_j || !op_j->is_string()) return dump(fail(st_param, "no 'op' (a string)"));
  const std::string op = op_j->get<std::string>();

  try {
    if (op == "info") {
      ojson r;
      r["ok"] = true;
      r["vendor"] = opts_.vendor;
      r["model"] = opts_.model;
      r["serial"] = opts_.serial;
      r["firmware"] = opts_.firmware;
      r["counter_bits"] = opts_.counter_bits;
      ojson groups = ojson::array();
      for (const auto& g : opts_.port_groups) {
        ojson e;
        e["first"] = g.first;
        e["count"] = g.count;
        e["lanes"] = g.lanes;
        e["lane_rate"] = static_cast<std::uint64_t>(std::llround(g.lane_rate));
        groups.push_back(e);
      }
      r["port_groups"] = groups;
      return dump(r);
    }
    if (op != "get" && op != "set" && op != "stats" && op != "clear_stats") {
      throw bad_request{st_unsupported, fmt::format("unknown op '{}'", op)};
    }
    const auto now = world_->now();

    // The port, when the request names one.
    int port = 0;
    if (const json* pj = field("port")) {
      const auto v = int_field(*pj);
      if (!v) throw bad_request{st_param, "'port' must be an integer"};
      if (*v < 1 || *v > 1'000'000 || !has_port(static_cast<int>(*v))) {
        throw bad_request{st_port, fmt::format("no port {}", *v)};
      }
      port = static_cast<int>(*v);
    }
    auto need_port = [&] {
      if (port == 0) throw bad_request{st_param, fmt::format("'{}' needs a 'port'", op)};
    };
    ojson r;
    r["ok"] = true;

    if (op == "clear_stats") {
      need_port();
      clear_fec(port);
      return dump(r);
    }
    if (op == "stats") {
      need_port();
      const json* cj = field("counters");
      if (!cj || !cj->is_array()) throw bad_request{st_param, "'counters' must be a list of names"};
      const hilt::fec_counters c = fec_read(port);
      const int t = fec_t(c.mode);
      ojson values = ojson::object();
      for (const auto& n : *cj) {
        if (!n.is_string()) throw bad_request{st_param, "'counters' must be a list of names"};
        const std::string name = n.get<std::string>();
        std::uint64_t v = 0;
        if (name == stat_corr) {
          v = c.correctable;
        } else if (name == stat_uncorr) {
          v = c.uncorrectable;
        } else if (name == stat_sym) {
          v = c.symbol_errors;
        } else if (name == stat_bits) {
          v = c.corrected_bits;
        } else if (name.starts_with(stat_bin_prefix) && name.size() > stat_bin_prefix.size() &&
                   name.size() <= stat_bin_prefix.size() + 2 &&
                   std::all_of(name.begin() + static_cast<std::ptrdiff_t>(stat_bin_prefix.size()),
                               name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
          const int k = std::stoi(name.substr(stat_bin_prefix.size()));
          if (k > 16) throw bad_request{st_attr, fmt::format("unknown counter '{}'", name)};
          // Bins beyond the mode's correction limit + 1 count nothing (S9..S16 under RS-528).
          v = k <= t + 1 && k < static_cast<int>(c.histogram.size())
                  ? c.histogram[static_cast<std::size_t>(k)]
                  : 0;
        } else {
          throw bad_request{st_attr, fmt::format("unknown counter '{}'", name)};
        }
        values[name] = v;
      }
      r["values"] = values;
      return dump(r);
    }

    // get / set
    if (const json* lj = field("lane")) {
      // SerDes attributes of one lane.
      need_port();
      const auto lv = int_field(*lj);
      if (!lv) throw bad_request{st_param, "'lane' must be an integer"};
      if (*lv < 1 || *lv > lanes_of(port)) {
        throw bad_request{st_value, fmt::format("port {} has lanes 1-{}; there is no lane {}", port,
                                                lanes_of(port), *lv)};
      }
      const int lane = static_cast<int>(*lv);
      auto fir_values = [](const hilt::tx_fir& t, const std::vector<std::string>& names) {
        ojson v = ojson::object();
        for (const auto& n : names) {
          if (n == fir_pre1) v[n] = t.pre1;
          if (n == fir_main) v[n] = t.main;
          if (n == fir_post1) v[n] = t.post1;
        }
        return v;
      };
      const std::vector<std::string> all{fir_pre1, fir_main, fir_post1};
      if (op == "set") {
        const json* vj = field("values");
        if (!vj || !vj->is_object() || vj->empty()) {
          throw bad_request{st_param, "'values' must be an object of Tx FIR taps"};
        }
        hilt::tx_fir taps = lane_taps(port, lane);
        for (auto it = vj->begin(); it != vj->end(); ++it) {
          if (!it.value().is_number()) {
            throw bad_request{st_param, fmt::format("'{}' must be a number", it.key())};
          }
          const double v = it.value().get<double>();
          if (it.key() == fir_pre1) {
            taps.pre1 = v;
          } else if (it.key() == fir_main) {
            taps.main = v;
          } else if (it.key() == fir_post1) {
            taps.post1 = v;
          } else {
            throw bad_request{st_attr, fmt::format("unknown SerDes attribute '{}'", it.key())};
          }
        }
        if (!fir_valid(taps)) {
          throw bad_request{
              st_value,
              fmt::format("taps pre1={} main={} post1={} break the FIR constraint (pre1 <= 0, main "
                          "> 0, post1 <= 0, |pre1| + main + |post1| <= 1)",
                          taps.pre1, taps.main, taps.post1)};
        }
        r["values"] = fir_values(set_tx_fir(port, lane, taps), all);
        return dump(r);
      }
      std::vector<std::string> names = all;
      if (const json* aj = field("attrs")) {
        if (!aj->is_array()) throw bad_request{st_param, "'attrs' must be a list of names"};
        names.clear();
        for (const auto& n : *aj) {
          if (!n.is_string()) throw bad_request{st_param, "'attrs' must be a list of names"};
          const std::string s = n.get<std::string>();
          if (s != fir_pre1 && s != fir_main && s != fir_post1) {
            throw bad_request{st_attr, fmt::format("unknown SerDes attribute '{}'", s)};
          }
          names.push_back(s);
        }
      } else if (const json* a1 = field("attr")) {
        if (!a1->is_string()) throw bad_request{st_param, "'attr' must be a name"};
        const std::string s = a1->get<std::string>();
        if (s != fir_pre1 && s != fir_main && s != fir_post1) {
          throw bad_request{st_attr, fmt::format("unknown SerDes attribute '{}'", s)};
        }
        names = {s};
      }
      r["values"] = fir_values(lane_taps(port, lane), names);
      return dump(r);
    }

    if (op == "set") {
      const json* aj = field("attr");
      if (!aj || !aj->is_string()) throw bad_request{st_param, "'set' needs 'attr' (a name)"};
      const std::string attr = aj->get<std::string>();
      const json* vj = field("value");
      if (port == 0) {
        if (attr == sw_max_temp || attr == sw_power) {
          throw bad_request{st_attr, fmt::format("'{}' is read-only", attr)};
        }
        throw bad_request{st_attr, fmt::format("unknown switch attribute '{}'", attr)};
      }
      if (!vj) throw bad_request{st_param, "'set' needs 'value'"};
      const std::string value = vj->is_string() ? vj->get<std::string>() : std::string{};
      if (attr == attr_pattern) {
        auto v = parse_name(pattern_names, value);
        if (!vj->is_string() || !v) {
          throw bad_request{st_value, fmt::format("'{}' is not a PRBS pattern (PRBS7 ... PRBS31Q, "
                                                  "SSPRQ)",
                                                  vj->dump())};
        }
        set_prbs_pattern(port, *v);
      } else if (attr == attr_config) {
        auto v = parse_name(config_names, value);
        if (!vj->is_string() || !v) {
          throw bad_request{st_value,
                            fmt::format("'{}' is not a sai_port_prbs_config_t", vj->dump())};
        }
        set_prbs_config(port, *v);
      } else if (attr == attr_fec) {
        auto v = parse_name(fec_names, value);
        if (!vj->is_string() || !v) {
          throw bad_request{st_value, fmt::format("'{}' is not a FEC mode this ASIC has (NONE, "
                                                  "RS528, RS544)",
                                                  vj->dump())};
        }
        set_fec_mode(port, *v);
      } else if (attr == attr_counters || attr == attr_ber || attr == attr_oper ||
                 attr == attr_sd || attr == attr_lock) {
        throw bad_request{st_attr, fmt::format("'{}' is read-only", attr)};
      } else {
        throw bad_request{st_attr, fmt::format("unknown port attribute '{}'", attr)};
      }
      return dump(r);
    }

    // get
    std::vector<std::string> names;
    bool multi = false;
    if (const json* aj = field("attrs")) {
      if (!aj->is_array() || aj->empty())
        throw bad_request{st_param, "'attrs' must be a list of names"};
      for (const auto& n : *aj) {
        if (!n.is_string()) throw bad_request{st_param, "'attrs' must be a list of names"};
        names.push_back(n.get<std::string>());
      }
      multi = true;
    } else if (const json* a1 = field("attr")) {
      if (!a1->is_string()) throw bad_request{st_param, "'attr' must be a name"};
      names.push_back(a1->get<std::string>());
    } else {
      throw bad_request{st_param, "'get' needs 'attr' or 'attrs'"};
    }
    // Evaluate once for the whole request: counters and status of one instant.
    if (port != 0) settle_port(port, now);
    std::optional<hilt::asic_link_status> status;
    std::optional<std::vector<hilt::prbs_lane_status>> prbs;
    auto value_of = [&](const std::string& name) -> ojson {
      if (port == 0) {
        if (name == sw_max_temp) return std::round(die_temperature_c() * 10) / 10;
        if (name == sw_power) return std::round(power_w() * 10) / 10;
        if (name.starts_with("SAI_PORT_") || name.starts_with("HILT_PORT_")) {
          throw bad_request{st_param, fmt::format("'{}' needs a 'port'", name)};
        }
        throw bad_request{st_attr, fmt::format("unknown switch attribute '{}'", name)};
      }
      auto* p = port_ptr(port);
      if (name == attr_pattern) return name_of(pattern_names, p->pattern);
      if (name == attr_config) return name_of(config_names, p->config);
      if (name == attr_fec) return name_of(fec_names, p->fec);
      if (name == attr_counters || name == attr_ber) {
        if (!prbs) {
          // Read once per request: the latch clears once, both lists describe the same instant.
          prbs = prbs_read(port);
        }
        ojson list = ojson::array();
        for (const auto& s : *prbs) {
          ojson e;
          e["lane"] = s.lane;
          if (name == attr_counters) {
            e["locked"] = s.locked;
            e["lock_lost"] = s.lost_lock;
            e["bits"] = s.bits;
            e["errors"] = s.errors;
          } else {
            const auto [m, x] = ber_mantissa(s.errors, s.bits);
            e["mantissa"] = m;
            e["exponent"] = x;
          }
          list.push_back(e);
        }
        return list;
      }
      if (name == attr_oper || name == attr_sd || name == attr_lock) {
        if (!status) {
          // One evaluation per request; each latch is cleared only by a get of its attribute.
          const bool sd = std::find(names.begin(), names.end(), attr_sd) != names.end();
          const bool lk = std::find(names.begin(), names.end(), attr_lock) != names.end();
          status = link_status(port, sd, lk);
        }
        if (name == attr_oper) {
          return status->up ? "SAI_PORT_OPER_STATUS_UP" : "SAI_PORT_OPER_STATUS_DOWN";
        }
        ojson list = ojson::array();
        for (const auto& s : status->lanes) {
          ojson e;
          e["lane"] = s.lane;
          e["current_status"] = name == attr_sd ? s.signal_detect : s.cdr_lock;
          e["changed"] = name == attr_sd ? s.signal_lost : s.lock_lost;
          list.push_back(e);
        }
        return list;
      }
      if (name == sw_max_temp || name == sw_power) {
        throw bad_request{st_attr,
                          fmt::format("'{}' is a switch attribute: ask without 'port'", name)};
      }
      throw bad_request{st_attr, fmt::format("unknown port attribute '{}'", name)};
    };
    // Validate every name before anything with a side effect (a latch cleared) happens.
    for (const auto& n : names) {
      static const std::array<const char*, 8> port_attrs{attr_pattern, attr_config, attr_counters,
                                                         attr_ber,     attr_fec,    attr_oper,
                                                         attr_sd,      attr_lock};
      const bool known_port =
          std::find(port_attrs.begin(), port_attrs.end(), n) != port_attrs.end();
      const bool known_switch = n == sw_max_temp || n == sw_power;
      if (port != 0 && !known_port) {
        throw bad_request{st_attr, known_switch ? fmt::format("'{}' is a switch attribute: ask "
                                                              "without 'port'",
                                                              n)
                                                : fmt::format("unknown port attribute '{}'", n)};
      }
      if (port == 0 && !known_switch) {
        throw bad_request{known_port ? st_param : st_attr,
                          known_port ? fmt::format("'{}' needs a 'port'", n)
                                     : fmt::format("unknown switch attribute '{}'", n)};
      }
    }
    if (multi) {
      ojson values = ojson::object();
      for (const auto& n : names)
        values[n] = value_of(n);
      r["values"] = values;
    } else {
      r["value"] = value_of(names.front());
    }
    return dump(r);
  } catch (const bad_request& b) {
    return dump(fail(b.status, b.message));
  }
}

}  // namespace hilt::emu
