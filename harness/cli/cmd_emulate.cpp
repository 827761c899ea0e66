// hilt emulate psu --port N [--model M] [--channels N] [--serial S] [--load-ohms R]
// hilt emulate chamber --port N [--map M] [--setpoint C] [--room C] [--max-ramp R] [--serial N]
// hilt emulate asic --port N [--model 51t2|25t6|12t8] [--serial S] [--loopback]
// hilt emulate voa --port N [--serial S] [--attenuation DB]
//
// Standalone emulated instruments on 127.0.0.1, in real time, for trying a driver, a sequence or a
// third-party tool (mbpoll, a SCPI terminal) against the same emulators CI uses. They run until
// SIGINT or SIGTERM and then exit 0.
#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdio>

#include "cli.hpp"
#include "hilt/clock.hpp"
#include "hilt/emu/asic.hpp"
#include "hilt/emu/chamber_server.hpp"
#include "hilt/emu/scpi_psu_server.hpp"
#include "hilt/emu/voa_server.hpp"
#include "hilt/emu/world.hpp"
#include "hilt/error.hpp"
#include "hilt/modbus_chamber/register_map.hpp"
#include "hilt/scpi_psu/model.hpp"
#include "hilt/units.hpp"

namespace hilt::cli {

namespace {

struct psu_args {
  int port = -1;
  std::string model = "keysight-e36xx";
  int channels = 0;
  std::string serial;
  double load_ohms = 0;
};

struct chamber_args {
  int port = -1;
  std::string map = "watlow-f4t";
  std::string setpoint = "25 C";
  std::string room = "23 C";
  double max_ramp = 5;
  long serial = 100001;
};

struct asic_args {
  int port = -1;
  std::string model = "51t2";
  std::string serial;
  bool loopback = false;
};

struct voa_args {
  int port = -1;
  std::string serial;
  double attenuation = 0;
};

double temperature(const std::string& text, const char* option) {
  std::string why;
  auto q = parse_quantity(text, &why);
  if (!q || q->dim != dimension::temperature) {
    throw config_error(
        {}, fmt::format("{} expects a temperature such as '25 C', got '{}'", option, text));
  }
  return q->value;
}

// Runs `io` until SIGINT / SIGTERM, then calls `stop`.
void run_until_signal(asio::io_context& io, const std::function<void()>& stop) {
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    stop();
    io.stop();
  });
  io.run();
}

int run_psu(const psu_args& a) {
  const scpi_psu::psu_model model = scpi_psu::load_named_model(a.model);
  emu::scpi_psu_options opts;
  opts.channels = a.channels;
  opts.serial = a.serial;
  opts.load_ohms = a.load_ohms;
  auto psu = std::make_shared<emu::scpi_psu_emulator>(model, opts);
  asio::io_context io;
  auto server = std::make_shared<emu::line_server>(
      io.get_executor(), [psu](std::string_view line) { return psu->handle(line); },
      [psu] { psu->input_overrun(); });
  try {
    server->start("127.0.0.1", static_cast<std::uint16_t>(a.port));
  } catch (const std::exception& e) {
    error_line(fmt::format("emulate psu: cannot listen on 127.0.0.1:{}: {}", a.port, e.what()));
    return exit_code::device_error;
  }
  fmt::print(
      "emulated {} supply ({} outputs) listening on 127.0.0.1:{} (SCPI, one command per "
      "line); SIGINT or SIGTERM stops it\n",
      model.name, psu->channel_count(), server->port());
  std::fflush(stdout);
  run_until_signal(io, [&] { server->stop(); });
  return exit_code::passed;
}

int run_chamber(const chamber_args& a) {
  const modbus_chamber::register_map map = modbus_chamber::load_named_map(a.map);
  emu::chamber_params p;
  p.room_c = temperature(a.room, "--room");
  p.setpoint_c = temperature(a.setpoint, "--setpoint");
  if (p.setpoint_c < p.min_setpoint_c || p.setpoint_c > p.max_setpoint_c) {
    throw config_error({}, fmt::format("--setpoint {} C is outside the chamber's {}..{} C",
                                       p.setpoint_c, p.min_setpoint_c, p.max_setpoint_c));
  }
  p.max_ramp_c_per_min = a.max_ramp;
  p.serial = static_cast<std::int32_t>(a.serial);
  asio::io_context io;
  hilt::clock clk(io, clock_mode::real);  // emulated air follows the wall clock
  auto w = std::make_shared<emu::world>(&clk, 1, p.room_c);
  auto chamber = std::make_shared<emu::chamber_model>(w, p);
  emu::modbus_chamber_server server(chamber, map);
  try {
    server.start("127.0.0.1", static_cast<std::uint16_t>(a.port));
  } catch (const std::exception& e) {
    error_line(fmt::format("emulate chamber: {}", e.what()));
    return exit_code::device_error;
  }
  fmt::print(
      "emulated chamber ({} register map) listening on 127.0.0.1:{} (Modbus TCP, unit "
      "any); set point {} C; SIGINT or SIGTERM stops it\n",
      map.name, server.port(), p.setpoint_c);
  std::fflush(stdout);
  run_until_signal(io, [&] { server.stop(); });
  server.stop();
  return exit_code::passed;
}

// Serves `handler` (one reply per line) on 127.0.0.1:port until a signal.
int serve_lines(int port, const char* what,
                std::function<std::optional<std::string>(std::string_view)> handler,
                const std::string& banner, asio::io_context& io) {
  auto server = std::make_shared<emu::line_server>(io.get_executor(), std::move(handler));
  try {
    server->start("127.0.0.1", static_cast<std::uint16_t>(port));
  } catch (const std::exception& e) {
    error_line(fmt::format("emulate {}: cannot listen on 127.0.0.1:{}: {}", what, port, e.what()));
    return exit_code::device_error;
  }
  fmt::print("{} listening on 127.0.0.1:{}; SIGINT or SIGTERM stops it\n", banner, server->port());
  std::fflush(stdout);
  run_until_signal(io, [&] { server->stop(); });
  return exit_code::passed;
}

int run_asic(const asic_args& a) {
  auto opts = emu::asic_preset(a.model);
  if (!opts) {
    std::string known;
    for (const auto& n : emu::asic_preset_names())
      known += (known.empty() ? "" : ", ") + n;
    throw config_error({},
                       fmt::format("--model: unknown ASIC model '{}'; known: {}", a.model, known));
  }
  if (!a.serial.empty()) opts->serial = a.serial;
  // Standalone there are no links: with --loopback every lane hears its own Tx (a loopback plug
  // in every cage), so PRBS locks and FEC counts; without it nothing arrives on any lane.
  opts->loopback = a.loopback;
  opts->label = "asic";
  asio::io_context io;
  hilt::clock clk(io, clock_mode::real);  // counters follow the wall clock
  auto w = std::make_shared<emu::world>(&clk, 1, 25.0);
  auto asic = std::make_shared<emu::emulated_asic>(w, *opts, 1);
  int lanes = 0;
  for (const auto& g : opts->port_groups)
    lanes += g.count * g.lanes;
  return serve_lines(
      a.port, "asic", [asic](std::string_view line) { return asic->handle(line); },
      fmt::format("emulated {} switch ASIC ({} lanes{}) speaking sai-rpc (docs/asic.md)",
                  opts->model, lanes, a.loopback ? ", every lane looped back" : ""),
      io);
}

int run_voa(const voa_args& a) {
  emu::voa_options o;
  if (!a.serial.empty()) o.serial = a.serial;
  if (!(a.attenuation >= o.min_db && a.attenuation <= o.max_db)) {
    throw config_error({}, fmt::format("--attenuation {} dB is outside the attenuator's {}..{} dB",
                                       a.attenuation, o.min_db, o.max_db));
  }
  o.attenuation_db = a.attenuation;
  auto voa = std::make_shared<emu::voa_emulator>(o);
  asio::io_context io;
  return serve_lines(
      a.port, "voa", [voa](std::string_view line) { return voa->handle(line); },
      "emulated N7762A optical attenuator speaking SCPI", io);
}

}  // namespace

command_fn add_emulate(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("emulate",
                         "Run an emulated bench instrument on 127.0.0.1 (SCPI supply, Modbus TCP "
                         "chamber, sai-rpc switch ASIC, SCPI optical attenuator) until SIGINT / "
                         "SIGTERM");
  cmd->require_subcommand(1);
  auto pa = std::make_shared<psu_args>();
  auto ca = std::make_shared<chamber_args>();

  auto* psu = cmd->add_subcommand("psu",
                                  "An emulated programmable supply speaking SCPI on a raw "
                                  "TCP socket (port 5025 style)");
  psu->add_option("--port", pa->port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->required()
      ->check(CLI::Range(0, 65535));
  psu->add_option("--model", pa->model,
                  "Supply model (drivers/scpi_psu/models): keysight-e36xx or rs-ngp")
      ->capture_default_str();
  psu->add_option("--channels", pa->channels, "Number of outputs (default: the model's)")
      ->check(CLI::Range(1, 16));
  psu->add_option("--serial", pa->serial, "Serial number answered to *IDN?");
  psu->add_option("--load-ohms", pa->load_ohms,
                  "A resistor on every output, so MEAS:CURR? has something to measure")
      ->check(CLI::PositiveNumber);

  auto* ch = cmd->add_subcommand("chamber",
                                 "An emulated thermal chamber speaking Modbus TCP "
                                 "(libmodbus) with first-order air dynamics");
  ch->add_option("--port", ca->port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->required()
      ->check(CLI::Range(0, 65535));
  ch->add_option("--map", ca->map, "Register map (drivers/modbus_chamber/maps)")
      ->capture_default_str();
  ch->add_option("--setpoint", ca->setpoint, "Set point at start")->capture_default_str();
  ch->add_option("--room", ca->room, "Room temperature, where the air goes when stopped")
      ->capture_default_str();
  ch->add_option("--max-ramp", ca->max_ramp, "Fastest ramp of the machine, C/min")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 1000.0));
  ch->add_option("--serial", ca->serial, "Serial number register value")
      ->check(CLI::Range(1L, 2147483647L));

  auto aa = std::make_shared<asic_args>();
  auto* as = cmd->add_subcommand("asic",
                                 "An emulated switch ASIC speaking the sai-rpc JSON-line protocol "
                                 "(docs/asic.md), in real time");
  as->add_option("--port", aa->port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->required()
      ->check(CLI::Range(0, 65535));
  as->add_option("--model", aa->model, "ASIC preset: 51t2, 25t6 or 12t8")->capture_default_str();
  as->add_option("--serial", aa->serial, "Serial number answered to info");
  as->add_flag("--loopback", aa->loopback,
               "Loop every lane's Tx back to its Rx (so PRBS locks and FEC counts)");

  auto va = std::make_shared<voa_args>();
  auto* vo = cmd->add_subcommand("voa",
                                 "An emulated variable optical attenuator (Keysight N7762A "
                                 "commands) speaking SCPI on a raw TCP socket");
  vo->add_option("--port", va->port, "TCP port on 127.0.0.1 (0: any free port, printed)")
      ->required()
      ->check(CLI::Range(0, 65535));
  vo->add_option("--serial", va->serial, "Serial number answered to *IDN?");
  vo->add_option("--attenuation", va->attenuation, "Attenuation at start, dB")
      ->capture_default_str();

  return [psu, ch, pa, ca, as, aa, vo, va](app_state&) -> int {
    if (psu->parsed()) return run_psu(*pa);
    if (ch->parsed()) return run_chamber(*ca);
    if (as->parsed()) return run_asic(*aa);
    if (vo->parsed()) return run_voa(*va);
    return exit_code::bad_input;
  };
}

}  // namespace hilt::cli
