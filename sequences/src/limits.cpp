#include "hilt/seq/limits.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>

namespace hilt::seq {

namespace {

constexpr dimension temperature[] = {dimension::temperature};
constexpr dimension voltage[] = {dimension::voltage};
constexpr dimension current[] = {dimension::current};
constexpr dimension optical_power[] = {dimension::power_dbm, dimension::power};
constexpr dimension ratio[] = {dimension::ratio_db};
constexpr dimension number[] = {dimension::none};

// Names follow managed_module::async_read_monitors (monitor_reading::name).
constexpr std::array<monitor_info, 9> monitors{{
    {"temperature", temperature, false, "module case temperature"},
    {"vcc", voltage, false, "module supply voltage (3.3 V rail)"},
    {"tx_bias", current, true, "laser bias current per lane"},
    {"tx_power", optical_power, true, "transmitted optical power per lane"},
    {"rx_power", optical_power, true, "received optical power per lane"},
    {"laser_temperature", temperature, true, "laser temperature (VDM)"},
    {"tec_current", current, true, "TEC current (VDM)"},
    {"snr", ratio, true, "electrical SNR per lane and side (VDM)"},
    {"pre_fec_ber", number, true, "pre-FEC bit error ratio per lane and side (VDM)"},
}};

// Unit spellings drivers use that hilt/units.hpp does not: one table, one place.
constexpr std::pair<std::string_view, std::string_view> unit_aliases[] = {
    {"°C", "C"},  {"µA", "uA"}, {"μA", "uA"},  // Greek mu, not the micro sign
    {"µW", "uW"}, {"μW", "uW"}, {"µV", "uV"}, {"μV", "uV"},
};

std::string fmt_value(double v) {
  return fmt::format("{:g}", v);
}

}  // namespace

std::span<const monitor_info> known_monitors() {
  return monitors;
}

const monitor_info* find_monitor(std::string_view name) {
  for (const auto& m : monitors) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::optional<quantity> reading_to_base(double value, std::string_view unit, std::string* why) {
  for (const auto& [alias, canonical] : unit_aliases) {
    if (unit == alias) {
      unit = canonical;
      break;
    }
  }
  if (unit.empty()) return quantity{value, dimension::none};
  // parse_quantity knows each unit's scale and offset; read them off "1 unit" and "0 unit" rather
  // than keeping a second table.
  auto one = parse_quantity(fmt::format("1 {}", unit), why);
  if (!one) return std::nullopt;
  auto zero = parse_quantity(fmt::format("0 {}", unit), why);
  if (!zero) return std::nullopt;
  return quantity{value * (one->value - zero->value) + zero->value, one->dim};
}

std::optional<double> convert(const quantity& q, dimension target) {
  if (q.dim == target) return q.value;
  if (q.dim == dimension::power && target == dimension::power_dbm) return watts_to_dbm(q.value);
  if (q.dim == dimension::power_dbm && target == dimension::power) return dbm_to_watts(q.value);
  return std::nullopt;
}

dimension limit_dimension(const limit& l) {
  for (auto d : {dimension::time, dimension::temperature, dimension::voltage, dimension::current,
                 dimension::power, dimension::power_dbm, dimension::ratio_db, dimension::frequency,
                 dimension::bit_rate, dimension::length, dimension::percent}) {
    if (base_unit(d) == l.unit) return d;
  }
  return dimension::none;
}

std::optional<limit> parse_limit(parse_context& ctx, const YAML::Node& node,
                                 std::span<const dimension> expected) {
  static const std::vector<std::string> keys{"min",     "max",       "equal",
                                             "nominal", "tolerance", "marginal"};
  const std::size_t errors_before = ctx.error_count();
  yaml_map m(ctx, node, "a limit");
  if (!m.valid()) return std::nullopt;
  m.reject_unknown(keys, "key", "in a limit");

  const auto* min_e = m.find("min");
  const auto* max_e = m.find("max");
  const auto* equal_e = m.find("equal");
  const auto* nominal_e = m.find("nominal");
  const auto* tolerance_e = m.find("tolerance");
  const auto* marginal_e = m.find("marginal");

  limit out;
  out.source = ctx.where(node);

  const int forms =
      (min_e || max_e ? 1 : 0) + (equal_e ? 1 : 0) + (nominal_e || tolerance_e ? 1 : 0);
  if (forms == 0) {
    ctx.error(node, "a limit needs min, max, both, equal, or nominal with tolerance");
    return std::nullopt;
  }
  if (forms > 1) {
    ctx.error(node,
              "a limit is one of: min and/or max, equal, or nominal with tolerance; "
              "this one mixes them");
    return std::nullopt;
  }

  // The limit's dimension is set by its first value; the others must agree with it.
  std::optional<dimension> dim;
  auto value = [&](const yaml_map::entry* e) -> std::optional<quantity> {
    if (!e) return std::nullopt;
    std::vector<dimension> allowed(expected.begin(), expected.end());
    if (dim) allowed = {*dim};
    auto q = ctx.read_quantity(e->value, e->key, allowed);
    if (q && !dim) dim = q->dim;
    return q;
  };

  if (min_e || max_e) {
    auto lo = value(min_e);
    auto hi = value(max_e);
    if (lo) out.low = lo->value;
    if (hi) out.high = hi->value;
    if (min_e && max_e) {
      out.cmp = limit::comparator::range;
      if (lo && hi && lo->value > hi->value) {
        ctx.error(node, fmt::format("limit: min ({}) is above max ({})",
                                    *ctx.read_text(min_e->value, "min"),
                                    *ctx.read_text(max_e->value, "max")));
      }
    } else {
      out.cmp = min_e ? limit::comparator::ge : limit::comparator::le;
    }
  } else if (equal_e) {
    out.cmp = limit::comparator::eq;
    if (auto q = value(equal_e)) out.nominal = out.low = out.high = q->value;
  } else {
    if (!nominal_e) {
      ctx.error(tolerance_e->key_node, "limit: tolerance needs a nominal value ('nominal:')");
      return std::nullopt;
    }
    if (!tolerance_e) {
      ctx.error(nominal_e->key_node,
                "limit: nominal needs a tolerance ('tolerance:', like '0.1 V' or '5 %')");
      return std::nullopt;
    }
    auto nom = value(nominal_e);
    if (!nom) return std::nullopt;
    out.nominal = nom->value;
    // A tolerance is a difference in the limit's dimension, or a percentage of the nominal. A dBm
    // level's tolerance is naturally written in dB.
    std::vector<dimension> tol_dims{*dim, dimension::percent};
    if (*dim == dimension::power_dbm) tol_dims = {dimension::ratio_db, dimension::power_dbm};
    auto tol = ctx.read_difference(tolerance_e->value, "tolerance", tol_dims);
    if (tol) {
      const std::string written = display(tolerance_e->value.Scalar());
      if (tol->value < 0) {
        ctx.error(
            tolerance_e->value,
            fmt::format("tolerance: expected a tolerance that is not negative, got '{}'", written));
      } else if (tol->dim == dimension::percent) {
        if (*dim == dimension::temperature) {
          ctx.error(tolerance_e->value,
                    fmt::format("tolerance: a percentage of a temperature depends on the scale; "
                                "give it in C (like '2 C'), got '{}'",
                                written));
        } else if (nom->value == 0) {
          ctx.error(tolerance_e->value,
                    fmt::format("tolerance: a percentage of a nominal of 0 is an empty band; give "
                                "it in {}, got '{}'",
                                base_unit(*dim).empty() ? "the nominal's unit" : base_unit(*dim),
                                written));
        } else {
          out.cmp = limit::comparator::tol_pct;
          out.tolerance = tol->value;
          const double half = std::abs(nom->value) * tol->value / 100.0;
          out.low = nom->value - half;
          out.high = nom->value + half;
        }
      } else {
        out.cmp = limit::comparator::tol_abs;
        out.tolerance = tol->value;
        out.low = nom->value - tol->value;
        out.high = nom->value + tol->value;
      }
    }
  }

  if (marginal_e) {
    if (out.cmp == limit::comparator::eq) {
      ctx.error(marginal_e->key_node,
                "limit: marginal does not apply to equal (a value is equal or it is not)");
    } else if (dim) {
      std::vector<dimension> marg_dims{*dim};
      if (*dim == dimension::power_dbm) marg_dims = {dimension::ratio_db, dimension::power_dbm};
      if (auto mq = ctx.read_difference(marginal_e->value, "marginal", marg_dims)) {
        const std::string written = display(marginal_e->value.Scalar());
        if (mq->value < 0) {
          ctx.error(marginal_e->value,
                    fmt::format("marginal: expected a band width that is not negative, got '{}'",
                                written));
        } else if (out.low && out.high && 2 * mq->value >= *out.high - *out.low &&
                   *out.high > *out.low) {
          ctx.error(
              marginal_e->value,
              fmt::format("marginal: a band of '{}' inside each bound leaves nothing that "
                          "passes between {} and {} {}",
                          written, fmt_value(*out.low), fmt_value(*out.high), base_unit(*dim)));
        } else {
          out.marginal = mq->value;
        }
      }
    }
  }

  if (ctx.error_count() != errors_before) return std::nullopt;
  out.unit = std::string(base_unit(dim.value_or(dimension::none)));
  return out;
}

}  // namespace hilt::seq
