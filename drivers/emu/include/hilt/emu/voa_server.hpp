// The emulated variable optical attenuator: a SCPI instrument modelled on a Keysight N7762A /
// 8157xA attenuator (one channel), served by the emulation's raw-socket line_server
// (scpi_psu_server.hpp) at emu-tcp:NAME, and the optical element a link puts in a fiber
// (link_graph.hpp: the light through it loses path_loss_db()).
//
// Commands (headers case-insensitive, long or short form, leading ':' optional, the channel
// suffix 1 optional; several commands in one line separated by ';'):
//
//   *IDN?                    Keysight Technologies,N7762A,<serial>,V1.0
//   *RST                     the power-on state (initial attenuation, wavelength, output)
//   *CLS                     clears the error queue
//   *OPC?                    1
//   :INPut1:ATTenuation <v>[DB] | MIN | MAX        attenuation (insertion loss not included)
//   :INPut1:ATTenuation? [MIN|MAX]                 +1.000000E+01
//   :INPut1:WAVelength <v>[NM|UM|M] | MIN | MAX     (no unit: metres, SCPI's base unit)
//   :INPut1:WAVelength?                             +1.310000E-06 (metres)
//   :OUTPut1[:STATe] ON|OFF|1|0                     OFF: shutter closed, no light passes
//   :OUTPut1[:STATe]?                               1 or 0
//   :SYSTem:ERRor[:NEXT]?    +0,"No error" or the oldest queued error
//
// Errors (SCPI-99 Vol 2 §21.8; queue of 20, the last replaced by -350 on overflow): -100 command
// error, -104 data type error, -109 missing parameter, -113 undefined header, -114 header suffix
// out of range (a channel other than 1), -131 invalid suffix (unit), -222 data out of range (an
// attenuation outside min..max or a wavelength outside 1260..1640 nm: the setting is not
// changed), -224 illegal parameter value, -363 input buffer overrun. A query that fails answers
// nothing.
//
// Coupling: set_on_change(f) registers f, called BEFORE a change of attenuation, wavelength or
// output state is applied and WITHOUT the attenuator's own lock held (the link graph settles the
// checkers downstream through the world's coupling lock, and a module holding that lock reads
// path_loss_db(), which takes the attenuator's lock: coupling lock -> attenuator lock is the only
// order). Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hilt::emu {

struct voa_options {
  std::string serial = "MY00000001";
  double min_db = 0;  // attenuation range (the N7762A model: 0..40 dB, drivers/scpi_voa)
  double max_db = 40;
  double insertion_loss_db = 1.0;  // loss at 0 dB attenuation
  double attenuation_db = 0;       // at power-on
  double wavelength_nm = 1310;     // at power-on
  bool output_on = true;           // shutter open at power-on
};

class voa_emulator {
 public:
  static constexpr std::size_t error_queue_size = 20;

  explicit voa_emulator(voa_options opts = {});

  // One program message (a line without its terminator). Returns the response message (the
  // answers of its queries joined by ';'), or nullopt when no query in it produced a response.
  std::optional<std::string> handle(std::string_view line);
  // The line was longer than the input buffer: -363.
  void input_overrun();

  // The loss the light sees through it now: insertion loss + attenuation, dB; +infinity while the
  // shutter is closed (no light passes).
  double path_loss_db() const;
  double attenuation_db() const;
  bool shutter_closed() const;
  double wavelength_nm() const;
  const voa_options& options() const noexcept { return opts_; }
  std::vector<std::pair<int, std::string>> errors() const;  // the queue, oldest first
  // "voa1 N7762A att=10.000dB il=1.0dB wav=1310.0nm shutter=open"
  std::string describe(std::string_view name) const;
  // Called before every change (see above). Replaces the previous one.
  void set_on_change(std::function<void()> before_change);

 private:
  void push_error(int code, std::string_view text);  // callers hold mu_
  std::optional<std::string> execute(std::string_view unit);
  // Applies `mutate` (under the lock) after telling the coupling, unless it would change nothing.
  template <class F>
  void change(bool differs, F&& mutate);

  voa_options opts_;
  mutable std::mutex mu_;
  double attenuation_db_ = 0;
  double wavelength_nm_ = 1310;
  bool output_on_ = true;
  std::deque<std::pair<int, std::string>> errors_;
  std::function<void()> before_change_;
};

}  // namespace hilt::emu
