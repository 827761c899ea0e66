// The sai-rpc wire protocol (docs/asic.md): SAI names for hilt's enums, request lines, and
// decoders for reply lines. Every decoder is total over whatever bytes an agent sends (DESIGN.md
// rule 6): a line that is not JSON, a missing field or a field of the wrong type is reported as a
// reason in words, never an exception or a crash.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/error.hpp"

namespace hilt::sai_rpc {

// --- Names ---------------------------------------------------------------------------------------
inline constexpr const char* attr_prbs_pattern = "SAI_PORT_ATTR_PRBS_PATTERN";
inline constexpr const char* attr_prbs_config = "SAI_PORT_ATTR_PRBS_CONFIG";
inline constexpr const char* attr_prbs_counters = "HILT_PORT_ATTR_PRBS_PER_LANE_COUNTERS";
inline constexpr const char* attr_prbs_ber = "SAI_PORT_ATTR_PRBS_PER_LANE_BER_LIST";
inline constexpr const char* attr_fec_mode = "SAI_PORT_ATTR_FEC_MODE_EXTENDED";
inline constexpr const char* attr_oper_status = "SAI_PORT_ATTR_OPER_STATUS";
inline constexpr const char* attr_signal_detect = "SAI_PORT_ATTR_RX_SIGNAL_DETECT";
inline constexpr const char* attr_lock_status = "SAI_PORT_ATTR_RX_LOCK_STATUS";
inline constexpr const char* attr_fir_pre1 = "SAI_PORT_SERDES_ATTR_TX_FIR_PRE1";
inline constexpr const char* attr_fir_main = "SAI_PORT_SERDES_ATTR_TX_FIR_MAIN";
inline constexpr const char* attr_fir_post1 = "SAI_PORT_SERDES_ATTR_TX_FIR_POST1";
inline constexpr const char* attr_max_temp = "SAI_SWITCH_ATTR_MAX_TEMP";
inline constexpr const char* attr_power = "HILT_SWITCH_ATTR_POWER";
inline constexpr const char* stat_fec_correctable = "SAI_PORT_STAT_IF_IN_FEC_CORRECTABLE_FRAMES";
inline constexpr const char* stat_fec_uncorrectable =
    "SAI_PORT_STAT_IF_IN_FEC_NOT_CORRECTABLE_FRAMES";
inline constexpr const char* stat_fec_symbol_errors = "SAI_PORT_STAT_IF_IN_FEC_SYMBOL_ERRORS";
inline constexpr const char* stat_fec_corrected_bits = "SAI_PORT_STAT_IF_IN_FEC_CORRECTED_BITS";
// "SAI_PORT_STAT_IF_IN_FEC_CODEWORD_ERRORS_S<k>", k = 0..16.
std::string stat_fec_codeword_bin(int k);

// "PRBS31Q", "PRBS7", "SSPRQ" (sai_port_prbs_pattern_t without its prefix, as docs/asic.md).
std::string_view sai_name(prbs_pattern p) noexcept;
std::optional<prbs_pattern> parse_sai_prbs_pattern(std::string_view s) noexcept;
// "SAI_PORT_PRBS_CONFIG_DISABLE", "..._ENABLE_TX_RX", "..._ENABLE_RX", "..._ENABLE_TX".
std::string_view sai_name(prbs_config c) noexcept;
std::optional<prbs_config> parse_sai_prbs_config(std::string_view s) noexcept;
// "SAI_PORT_FEC_MODE_EXTENDED_NONE", "..._RS528", "..._RS544".
std::string_view sai_name(fec_mode m) noexcept;
std::optional<fec_mode> parse_sai_fec_mode(std::string_view s) noexcept;

// docs/asic.md "Statuses": NOT_SUPPORTED -> not_supported, INVALID_* -> invalid_argument, any
// other status (FAILURE, one hilt does not know) -> instrument_error.
errc status_errc(std::string_view status) noexcept;

// --- Replies -------------------------------------------------------------------------------------
// One reply line: a JSON object with a boolean "ok"; when ok is false, "status" and "message"
// (missing ones read as empty / "SAI_STATUS_FAILURE").
struct reply {
  bool ok = false;
  std::string status;   // SAI_STATUS_..., when !ok
  std::string message;  // one line for a human, when !ok
  nlohmann::json body;  // the whole object
};
// nullopt (and `why`) when the line is not a JSON object with a boolean "ok".
std::optional<reply> parse_reply(std::string_view line, std::string& why);

// What `info` answers (docs/asic.md "info").
struct asic_info {
  std::string vendor, model, serial, firmware;
  int counter_bits = 64;
  std::vector<asic_port_group> port_groups;
};
// Port groups must be non-empty, each with first >= 1, count >= 1, 1 <= lanes <= 32,
// lane_rate > 0, and must not overlap.
std::optional<asic_info> decode_info(const nlohmann::json& body, std::string& why);

// A number field ("value" of a switch attribute get).
std::optional<double> decode_number(const nlohmann::json& body, const char* key, std::string& why);
// A string field ("value" of a port attribute get).
std::optional<std::string> decode_string(const nlohmann::json& body, const char* key,
                                         std::string& why);
// The "values" object of a multi-attribute get or a stats request, checked to hold every name.
const nlohmann::json* decode_values(const nlohmann::json& body,
                                    const std::vector<std::string>& names, std::string& why);

// Per-lane PRBS counters and BER list of a port with `lanes` lanes (values of a get with
// attr_prbs_counters and attr_prbs_ber): one entry per lane in the counters list, sorted by lane.
// The BER figure is the agent's (mantissa x 10^-exponent); a lane the BER list lacks gets
// errors / bits.
std::optional<std::vector<prbs_lane_status>> decode_prbs(const nlohmann::json& values, int lanes,
                                                         std::string& why);

// SAI per-lane latch list: [{"lane":1,"current_status":true,"changed":false}, ...].
struct latch {
  int lane = 0;
  bool current = false;
  bool changed = false;
};
std::optional<std::vector<latch>> decode_latch_list(const nlohmann::json& values, const char* attr,
                                                    int lanes, std::string& why);

// FEC statistics values (a stats reply) for `mode`: the four totals plus S0..S(max_correctable+1).
std::optional<fec_counters> decode_fec(const nlohmann::json& values, fec_mode mode,
                                       int counter_bits, std::string& why);
// The counter names read for `mode` (empty for none).
std::vector<std::string> fec_counter_names(fec_mode mode);

// Tx FIR taps ("values" with PRE1, MAIN, POST1).
std::optional<tx_fir> decode_fir(const nlohmann::json& body, std::string& why);

// --- Requests ------------------------------------------------------------------------------------
// Each returns one request line (no terminator): compact JSON, "op" first.
std::string info_request();
std::string get_request(int port, std::string_view attr);
std::string get_request(int port, const std::vector<std::string>& attrs);
std::string set_request(int port, std::string_view attr, std::string_view value);
std::string switch_get_request(std::string_view attr);
std::string stats_request(int port, const std::vector<std::string>& counters);
std::string clear_stats_request(int port);
std::string fir_set_request(int port, int lane, const tx_fir& taps);
std::string fir_get_request(int port, int lane);

}  // namespace hilt::sai_rpc
