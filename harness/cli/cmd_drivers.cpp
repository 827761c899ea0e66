// hilt drivers [--json]
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "hilt/error.hpp"
#include "hilt/version.hpp"

namespace hilt::cli {

command_fn add_drivers(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "drivers",
      "List every registered driver: name, version, device classes, transports and "
      "where it came from (built in, or the plugin file)");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON instead of a table");
  return [json](app_state& st) {
    st.load_drivers();
    if (*json) {
      nlohmann::json out;
      out["hilt_version"] = version;
      out["plugin_abi_version"] = plugin_abi_version;
      out["plugin_path"] = driver_registry::default_plugin_path();
      out["drivers"] = nlohmann::json::array();
      for (const auto* r : st.registry.all()) {
        const auto& i = r->drv->info();
        nlohmann::json classes = nlohmann::json::array();
        for (auto c : i.classes)
          classes.push_back(std::string(to_string(c)));
        out["drivers"].push_back({{"name", i.name},
                                  {"version", i.version},
                                  {"description", i.description},
                                  {"classes", classes},
                                  {"transports", i.transports},
                                  {"origin", r->origin}});
      }
      out["plugin_problems"] = nlohmann::json::array();
      for (const auto& p : st.plugin_problems) {
        out["plugin_problems"].push_back({{"file", p.file}, {"message", p.message}});
      }
      fmt::print("{}\n", out.dump(2));
    } else {
      table t({"DRIVER", "VERSION", "CLASSES", "TRANSPORTS", "ORIGIN"});
      for (const auto* r : st.registry.all()) {
        const auto& i = r->drv->info();
        std::string classes;
        for (auto c : i.classes)
          classes += (classes.empty() ? "" : ",") + std::string(to_string(c));
        std::string transports;
        for (const auto& tr : i.transports)
          transports += (transports.empty() ? "" : ",") + tr;
        t.row({i.name, i.version, classes, transports, r->origin});
      }
      fmt::print("{}", t.str());
    }
    for (const auto& p : st.plugin_problems) {
      error_line(fmt::format("plugin {} skipped: {}", p.file, p.message));
    }
    return exit_code::passed;
  };
}

}  // namespace hilt::cli
