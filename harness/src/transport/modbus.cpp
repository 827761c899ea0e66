#include "hilt/transport/modbus.hpp"

#include <fmt/format.h>
#include <modbus.h>

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "hilt/error.hpp"

namespace hilt {

const char* modbus_exception_name(int code) noexcept {
  switch (code) {
    case 1:
      return "illegal function";
    case 2:
      return "illegal data address";
    case 3:
      return "illegal data value";
    case 4:
      return "server device failure";
    case 5:
      return "acknowledge";
    case 6:
      return "server device busy";
    case 8:
      return "memory parity error";
    case 10:
      return "gateway path unavailable";
    case 11:
      return "gateway target device failed to respond";
    default:
      return "unknown exception";
  }
}

namespace {

struct request {
  int op = 0;
  std::uint16_t address = 0;
  std::uint16_t count = 0;
  std::vector<std::uint16_t> values;
  clock::duration timeout{};
};

struct job_base {
  virtual ~job_base() = default;
  request req;
  virtual void complete(modbus_reply r) = 0;
};

// A transaction and the handler of the coroutine awaiting it. The work guard keeps the
// coroutine's io_context running while the worker thread has the job.
template <class Handler, class Executor>
struct job final : job_base {
  job(Handler h, Executor ex)
      : handler(std::move(h)),
        work(asio::prefer(std::move(ex), asio::execution::outstanding_work.tracked)) {}
  void complete(modbus_reply r) override {
    auto ex = work;
    asio::post(
        ex, [h = std::move(handler), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
  }
  Handler handler;
  decltype(asio::prefer(std::declval<Executor>(), asio::execution::outstanding_work.tracked)) work;
};

timeval to_timeval(clock::duration d) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
  if (us < 1000) us = 1000;  // libmodbus refuses a zero timeout
  return timeval{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
}

}  // namespace

struct modbus_tcp_client::worker {
  worker(tcp_target t, modbus_options o) : target(std::move(t)), opts(o) {
    th = std::thread([this] { loop(); });
  }
  ~worker() {
    {
      std::lock_guard lk(mu);
      stop = true;
    }
    cv.notify_all();
    th.join();
    close();
  }

  void push(std::unique_ptr<job_base> j) {
    {
      std::lock_guard lk(mu);
      q.push_back(std::move(j));
    }
    cv.notify_one();
  }

  void loop() {
    for (;;) {
      std::unique_ptr<job_base> j;
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return stop || !q.empty(); });
        if (stop) {
          // Jobs not started yet: their callers are told, nothing is sent.
          for (auto& left : q) {
            modbus_reply r;
            r.ec = make_error_code(errc::cancelled);
            r.detail = "the client was closed";
            left->complete(std::move(r));
          }
          q.clear();
          return;
        }
        j = std::move(q.front());
        q.pop_front();
      }
      j->complete(execute(j->req));
    }
  }

  void close() {
    if (ctx) {
      modbus_close(ctx);
      modbus_free(ctx);
      ctx = nullptr;
    }
  }

  std::error_code connect(modbus_reply& out) {
    const std::string port = std::to_string(target.port);
    ctx = modbus_new_tcp_pi(target.host.c_str(), port.c_str());
    if (!ctx) {
      out.detail = fmt::format("cannot create a Modbus TCP context: {}", modbus_strerror(errno));
      return make_error_code(errc::io_error);
    }
    modbus_set_slave(ctx, opts.unit_id);
    const auto tv = to_timeval(opts.connect_timeout);
    modbus_set_response_timeout(ctx, static_cast<std::uint32_t>(tv.tv_sec),
                                static_cast<std::uint32_t>(tv.tv_usec));
    if (modbus_connect(ctx) == -1) {
      out.detail = fmt::format("cannot connect to {}: {}", target.str(), modbus_strerror(errno));
      close();
      return make_error_code(errc::unreachable);
    }
    ++connects;
    return {};
  }

  modbus_reply execute(const request& r) {
    modbus_reply out;
    const bool write_many = r.op == static_cast<int>(op::write_many);
    const std::size_t count = write_many ? r.values.size() : r.count;
    const std::size_t max_count =
        write_many ? MODBUS_MAX_WRITE_REGISTERS : MODBUS_MAX_READ_REGISTERS;
    if (r.op != static_cast<int>(op::write_one) && (count < 1 || count > max_count)) {
      out.ec = make_error_code(errc::invalid_argument);
      out.detail = fmt::format("{} registers requested; Modbus allows 1..{} (V1.1b3 §6.3, §6.12)",
                               count, max_count);
      return out;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool fresh = false;
      if (!ctx) {
        if (auto ec = connect(out)) {
          out.ec = ec;
          return out;
        }
        fresh = true;
      }
      const auto tv = to_timeval(r.timeout);
      modbus_set_response_timeout(ctx, static_cast<std::uint32_t>(tv.tv_sec),
                                  static_cast<std::uint32_t>(tv.tv_usec));
      errno = 0;
      int rc = -1;
      std::size_t expect = 0;
      switch (static_cast<op>(r.op)) {
        case op::read_holding:
        case op::read_input:
          out.registers.assign(r.count, 0);
          rc = r.op == static_cast<int>(op::read_holding)
                   ? modbus_read_registers(ctx, r.address, r.count, out.registers.data())
                   : modbus_read_input_registers(ctx, r.address, r.count, out.registers.data());
          expect = r.count;
          break;
        case op::write_one:
          rc = modbus_write_register(ctx, r.address, r.values.empty() ? 0 : r.values[0]);
          expect = 1;
          break;
        case op::write_many:
          rc = modbus_write_registers(ctx, r.address, static_cast<int>(r.values.size()),
                                      r.values.data());
          expect = r.values.size();
          break;
      }
      if (rc >= 0) {
        if (static_cast<std::size_t>(rc) != expect) {
          out.ec = make_error_code(errc::bad_reply);
          out.detail = fmt::format("{} registers in the response, {} expected", rc, expect);
          out.registers.clear();
          close();
        }
        return out;
      }
      const int e = errno;
      out.registers.clear();
      if (e > MODBUS_ENOBASE && e <= MODBUS_ENOBASE + MODBUS_EXCEPTION_GATEWAY_TARGET) {
        // libmodbus reports a server exception as MODBUS_ENOBASE + exception code.
        out.exception = e - MODBUS_ENOBASE;
        out.ec = make_error_code(errc::instrument_error);
        out.detail = fmt::format("exception {:02d} ({})", out.exception,
                                 modbus_exception_name(out.exception));
        return out;
      }
      if (e == ETIMEDOUT) {
        close();
        out.ec = make_error_code(errc::timeout);
        out.detail = fmt::format("no reply within {}", format_duration(r.timeout));
        return out;
      }
      if (e == ECONNRESET || e == EPIPE || e == EBADF || e == ENOTCONN || e == ECONNABORTED ||
          e == ECONNREFUSED) {
        close();
        if (!fresh && attempt == 0) continue;  // the connection died while idle: once more
        out.ec = make_error_code(errc::disconnected);
        out.detail = fmt::format("connection lost: {}", modbus_strerror(e));
        return out;
      }
      close();
      if (e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC || e == EMBMDATA || e == EMBBADCRC ||
          e == EMBBADSLAVE) {
        out.ec = make_error_code(errc::bad_reply);
        out.detail = fmt::format("malformed response: {}", modbus_strerror(e));
        return out;
      }
      out.ec = make_error_code(errc::io_error);
      out.detail = modbus_strerror(e);
      return out;
    }
    return out;
  }

  tcp_target target;
  modbus_options opts;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<job_base>> q;
  bool stop = false;
  modbus_t* ctx = nullptr;  // worker thread only
  std::atomic<std::uint64_t> connects{0};
  std::thread th;  // last: started when every other member exists
};

modbus_tcp_client::modbus_tcp_client(asio::any_io_executor ex, hilt::clock* clk, tcp_target target,
                                     modbus_options opts)
    : ex_(std::move(ex)),
      clock_(clk),
      target_(std::move(target)),
      opts_(opts),
      worker_(std::make_unique<worker>(target_, opts_)) {}

modbus_tcp_client::~modbus_tcp_client() = default;

std::string modbus_tcp_client::describe() const {
  return fmt::format("modbus-tcp:{}/{}", target_.str(), opts_.unit_id);
}

std::uint64_t modbus_tcp_client::connects() const noexcept {
  return worker_->connects.load();
}

task<modbus_reply> modbus_tcp_client::run(op o, std::uint16_t address, std::uint16_t count,
                                          std::vector<std::uint16_t> values, duration timeout) {
  std::optional<clock::io_scope> scope;
  if (clock_) scope.emplace(*clock_);
  request req;
  req.op = static_cast<int>(o);
  req.address = address;
  req.count = count;
  req.values = std::move(values);
  req.timeout = timeout;
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(modbus_reply)>(
      [this](auto handler, request r) {
        auto ex = asio::get_associated_executor(handler, ex_);
        auto j = std::make_unique<job<decltype(handler), decltype(ex)>>(std::move(handler),
                                                                        std::move(ex));
        j->req = std::move(r);
        worker_->push(std::move(j));
      },
      asio::use_awaitable, std::move(req));
}

task<modbus_reply> modbus_tcp_client::async_read_holding(std::uint16_t address, std::uint16_t count,
                                                         duration timeout) {
  std::vector<std::uint16_t> none;
  co_return co_await run(op::read_holding, address, count, std::move(none), timeout);
}

task<modbus_reply> modbus_tcp_client::async_read_input(std::uint16_t address, std::uint16_t count,
                                                       duration timeout) {
  std::vector<std::uint16_t> none;
  co_return co_await run(op::read_input, address, count, std::move(none), timeout);
}

task<modbus_reply> modbus_tcp_client::async_write_register(std::uint16_t address,
                                                           std::uint16_t value, duration timeout) {
  std::vector<std::uint16_t> one{
      value};  // a named local: g++ 12 mishandles a braced temporary here
  co_return co_await run(op::write_one, address, 1, std::move(one), timeout);
}

task<modbus_reply> modbus_tcp_client::async_write_registers(std::uint16_t address,
                                                            std::vector<std::uint16_t> values,
                                                            duration timeout) {
  const auto n = static_cast<std::uint16_t>(std::min<std::size_t>(values.size(), 0xFFFF));
  co_return co_await run(op::write_many, address, n, std::move(values), timeout);
}

}  // namespace hilt
