// A switch ASIC (hilt::switch_asic) driven through a sai-rpc agent: JSON lines over TCP
// (docs/asic.md), on the TCP line transport.
//
// Every operation follows one shape:
//  1. Hold the connection for the whole unit of work (one exchange at a time, FIFO).
//  2. Open the device if it is not open yet: `info` gives the identity and the port groups
//     (switch_asic::port_groups()), so a port or lane can be checked against the ASIC's own
//     account. The runner identifies every instrument when a run starts, which opens it there.
//  3. Check the request before anything about it is sent: a port or lane outside the port groups,
//     or Tx FIR taps that break the 802.3 constraint, are errc::invalid_argument.
//  4. Send the requests; map the reply: "ok": false by its status (NOT_SUPPORTED ->
//     not_supported, INVALID_* -> invalid_argument, others -> instrument_error), a line that is
//     not JSON or lacks a field -> bad_reply. Every error is logged with the device, the
//     operation, the request line and the agent's message (or the reply's bytes, escaped).
//  A request that finds the connection dropped (errc::disconnected) is sent once more on a new
//  connection: every request of this protocol is idempotent (setting an attribute again, clearing
//  cleared counters). Setters return what the ASIC reports back, and log requested vs actual.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hilt/device.hpp"
#include "hilt/sai_rpc/protocol.hpp"
#include "hilt/transport/line.hpp"
#include "hilt/transport/tcp_line.hpp"

namespace hilt::sai_rpc {

struct asic_options {
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);  // per request line and reply
};

// Reply lines may exceed docs/asic.md's 4096 bytes on agents with wide ports (a PRBS read of a
// 16-lane port); accepting more costs nothing and is still bounded.
inline constexpr std::size_t max_reply_line = 64 * 1024;

class sai_asic final : public hilt::switch_asic {
 public:
  sai_asic(std::string name, std::string address, hilt::device_context ctx, tcp_target target,
           asic_options opts);
  ~sai_asic() override;

  std::string_view driver_name() const noexcept override { return "sai-rpc"; }
  // Width of the statistics counters (from `info`; 64 until the device is open).
  int counter_bits() const noexcept { return info_.counter_bits; }
  bool is_open() const noexcept { return opened_; }
  line_transport& transport() noexcept { return *link_; }

 protected:
  task<result<hilt::identity>> do_identify() override;
  task<result<double>> do_die_temperature() override;
  task<result<double>> do_read_power() override;
  task<std::error_code> do_prbs_configure(int port, prbs_config config,
                                          prbs_pattern pattern) override;
  task<result<std::vector<prbs_lane_status>>> do_prbs_read(int port) override;
  task<result<fec_mode>> do_set_fec_mode(int port, fec_mode mode) override;
  task<result<fec_counters>> do_read_fec(int port) override;
  task<std::error_code> do_clear_fec(int port) override;
  task<result<asic_link_status>> do_link_status(int port) override;
  task<result<tx_fir>> do_set_tx_fir(int port, int lane, tx_fir taps) override;
  task<result<tx_fir>> do_read_tx_fir(int port, int lane) override;
  // Opens the device first when it is not open (to learn its ports), then PRBS off on every port.
  task<std::error_code> do_safe_state() override;

 private:
  // One request line, its reply parsed: the reply's body when "ok" is true. Callers hold the lock.
  task<result<nlohmann::json>> request(const char* op, std::string line);
  task<std::error_code> ensure_open(const char* op);
  task<result<asic_info>> fetch_info(const char* op);
  std::error_code check_port(const char* op, int port, std::optional<int> lane = std::nullopt);
  std::error_code bad_reply(const char* op, const std::string& line, const std::string& why);
  std::string ports_text() const;
  // A switch attribute (no port) that is a number.
  task<result<double>> switch_number(const char* op, const char* attr, const char* unit);

  asic_options opts_;
  std::unique_ptr<tcp_line_client> link_;
  bool opened_ = false;
  bool in_safe_state_ = false;  // per-port PRBS lines at debug level: one summary line instead
  asic_info info_;
  std::string last_reply_;  // the reply line of the last request, for messages
  // Per port and lane, the previous read's signal-detect / CDR-lock state (for lost_* folding).
  struct lane_seen {
    bool signal = false;
    bool lock = false;
  };
  std::map<int, std::map<int, lane_seen>> seen_;
};

}  // namespace hilt::sai_rpc
