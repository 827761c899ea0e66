#include "identify/identify.hpp"

#include <spdlog/spdlog.h>

#include "hilt/seq/step_util.hpp"

namespace hilt::seq {

task<step_outcome> identify_step::run(step_context& ctx) const {
  managed_module* m = ctx.module();
  if (m == nullptr) co_return no_dut("identify");
  auto id = co_await m->async_identify();
  if (!id) co_return device_failure(*m, "identify", id.error());
  ctx.set_identity(id.value());
  ctx.log().info("{}: {} {} serial {} firmware {}", describe_device(*m), id.value().vendor,
                 id.value().part_number, id.value().serial, id.value().firmware);
  co_return step_outcome{};
}

step_type identify_step_type() {
  return step_type{
      .name = "identify",
      .summary = "read the DUT's identity (vendor, part number, serial, firmware)",
      .options = {},
      .needs_dut = true,
      .children_key = {},
      .parse = [](parse_context&, const step_spec&) -> std::shared_ptr<const step> {
        return std::make_shared<identify_step>();
      },
  };
}

}  // namespace hilt::seq
