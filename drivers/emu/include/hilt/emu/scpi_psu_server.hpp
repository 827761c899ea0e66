// The emulated SCPI programmable supply, and the raw-socket line server it sits behind
// (DESIGN.md rule 1: the driver talks to it over real TCP on 127.0.0.1, byte for byte).
//
// scpi_psu_emulator is the instrument: an SCPI-99 parser and the supply's state. It is written
// independently of the driver's command tables — it accepts the long and short forms of every
// keyword (SCPI-99 Vol 1 §6.2.1: "VOLTage" is VOLT or VOLTAGE, any case), optional nodes
// ("[SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude]") and compound messages ("INST:NSEL 1;VOLT
// 3.3"), so a wrong table shows up as an error, not as a mirror image. Two dialects:
//
//   common   *IDN? *RST *CLS *OPC *OPC? *ESR? *STB? *TST? *WAI  SYSTem:ERRor[:NEXT]?
//            SYSTem:ERRor:COUNt? SYSTem:VERSion? SYSTem:REMote SYSTem:LOCal
//            [SOURce:]VOLTage[:LEVel][:IMMediate][:AMPLitude] <NRf>[V|mV]|MIN|MAX|DEF (and ?)
//            [SOURce:]CURRent[:LEVel][:IMMediate][:AMPLitude] <NRf>[A|mA]|MIN|MAX|DEF (and ?)
//            INSTrument:NSELect <n> (and ?)   OUTPut:PROTection:CLEar
//            MEASure[:SCALar]:CURRent[:DC]?
//   keysight INSTrument[:SELect] CH<n>|<channel name> (and ?)   OUTPut[:STATe] ON|OFF|1|0 (and ?)
//            MEASure[:SCALar]:VOLTage[:DC]?          numbers answered in NR3: +3.30000000E+00
//   rs-ngp   INSTrument[:SELect] OUT<n>|OUTPut<n>|<n> (and ?)   OUTPut:SELect ON|OFF (and ?)
//            OUTPut:GENeral[:STATe] ON|OFF (and ?)   OUTPut[:STATe] ON|OFF (selected channel and
//            the master switch; and ?)   MEASure[:SCALar][:VOLTage][:DC]?
//            numbers answered in NR2 at the model's resolution: 3.300
//
// Errors go to the error queue (SCPI-99 Vol 2 §21.8; 20 entries, the last replaced by -350 on
// overflow): -102 syntax error, -104 data type error, -108 parameter not allowed, -109 missing
// parameter, -113 undefined header, -222 data out of range (above the model's rating),
// -224 illegal parameter value, -300 device-specific error (over-current trip), -363 input buffer
// overrun. A query that fails produces no response (IEEE 488.2 §6.3.2.3); the others in the same
// message still answer.
//
// Physics: an output delivers its set voltage while on; the current is the load of its power
// rail (power_rail.hpp) at that voltage, plus an optional resistor. A load above the current
// limit trips the output off (over-current protection, always armed) and queues -300; the trip is
// evaluated whenever the instrument handles a message. Settings and readings are quantised to
// the model's stated resolution; MEASure answers 0 V / 0 A for an output that is off.
// Whatever changes what an output delivers (OUTPut, the rs-ngp master switch, VOLTage, a trip,
// set_output) is passed on to its rail at once (power_rail::set_source_volts): turning an output
// off pulls the power from the emulated modules on it, turning it on powers them up again.
//
// Thread-safe: every public method locks.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hilt/emu/power_rail.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/scpi_psu/scpi.hpp"

namespace hilt::emu {

struct scpi_psu_options {
  std::string serial;    // *IDN? serial; default: the model's
  int channels = 0;      // 0: the model's channel count; more repeat the last rating
  double load_ohms = 0;  // a resistor on every output (standalone use); 0: none
};

class scpi_psu_emulator {
 public:
  using options = scpi_psu_options;
  struct channel_state {
    double voltage = 0;        // set point, V
    double current_limit = 0;  // A
    bool output = false;       // keysight: OUTPut; rs-ngp: OUTPut:SELect
    bool tripped = false;      // over-current protection tripped (cleared by OUTP:PROT:CLE)
  };
  static constexpr std::size_t error_queue_size = 20;

  explicit scpi_psu_emulator(scpi_psu::psu_model model, options opts = {});

  // One program message (a line without its terminator). Returns the response message, or
  // nullopt when no query in it produced a response.
  std::optional<std::string> handle(std::string_view message);
  // The line was longer than the input buffer: -363.
  void input_overrun();

  // Wiring and backdoors (for the world model and tests).
  // Connects output `channel` to `rail` and tells the rail what the output delivers now.
  void set_rail(int channel, std::shared_ptr<power_rail> rail);
  void set_output(int channel, double volts, double amps, bool on);  // also the master switch
  channel_state channel(int channel) const;
  double measured_voltage(int channel);
  double measured_current(int channel);
  std::vector<scpi::error_entry> errors() const;  // the queue, oldest first
  std::uint64_t messages() const;                 // program messages handled so far
  int channel_count() const noexcept { return static_cast<int>(channels_.size()); }
  const scpi_psu::psu_model& model() const noexcept { return model_; }
  // "psu1 keysight-e36xx ch1=3.300V/5.000A on 1.234A ch2=off ..."
  std::string describe(const std::string& label);

 private:
  struct output {
    scpi_psu::channel_rating rating;
    channel_state st;
    std::shared_ptr<power_rail> rail;
    std::optional<double> told;  // the voltage last passed on to the rail
  };
  struct unit;  // one parsed program message unit

  void push_error(int code, std::string_view text);
  void evaluate();    // over-current trips, then sync_rails() (callers hold mu_)
  void sync_rails();  // passes what each output delivers now on to its rail (callers hold mu_)
  bool delivering(const output& c) const noexcept;
  double load_current(const output& c) const;
  double quantise(double v, double step) const noexcept;
  std::string number(double v, double resolution) const;
  std::optional<std::string> execute(const unit& u);
  std::optional<int> parse_channel_name(std::string_view p) const;

  scpi_psu::psu_model model_;
  options opts_;
  mutable std::mutex mu_;
  std::vector<output> channels_;
  int selected_ = 1;
  bool general_ = false;  // rs-ngp master switch
  std::deque<scpi::error_entry> errors_;
  std::uint64_t messages_ = 0;
};

// A raw-socket line server (the SCPI "port 5025" convention): one program message per line, one
// response line per message that produces one. Runs on the executor it is given.
enum class line_fault {
  none,
  drop,     // close the connection when the next line arrives (nothing is executed)
  stall,    // read lines and never answer (nothing is executed): the instrument hangs
  garbage,  // answer the next query with bytes that are not SCPI
};

class line_server : public std::enable_shared_from_this<line_server> {
 public:
  using handler = std::function<std::optional<std::string>(std::string_view line)>;
  static constexpr std::size_t max_line = 4096;

  line_server(boost::asio::any_io_executor ex, handler h, std::function<void()> on_overrun = {});
  ~line_server();

  // Listens on host:port (port 0: a free port the kernel picks) and starts accepting.
  // Throws boost::system::system_error when it cannot listen.
  void start(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  std::uint16_t port() const noexcept { return port_; }
  // Closes the listener and every connection. Call it on the server's executor, or when that
  // executor no longer runs.
  void stop();

  // Applies `f` to the next `count` lines (count < 0: every line until inject(none)).
  // Thread-safe.
  void inject(line_fault f, int count = 1);
  std::uint64_t connections() const noexcept { return connections_.load(); }
  std::uint64_t lines() const noexcept { return lines_.load(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(std::shared_ptr<boost::asio::ip::tcp::socket> s);
  line_fault take_fault(bool has_response);

  boost::asio::any_io_executor ex_;
  handler handler_;
  std::function<void()> on_overrun_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::mutex mu_;  // faults and the session list
  line_fault fault_ = line_fault::none;
  int fault_count_ = 0;
  std::vector<std::weak_ptr<boost::asio::ip::tcp::socket>> sockets_;
  std::atomic<std::uint64_t> connections_{0}, lines_{0};
};

}  // namespace hilt::emu
