// SPDX-License-Identifier: Apache-2.0
// Helpers for the test suites ported from CPython (asyncio), Trio and oneTBB: their
// sleeps, cancellable waits and "sleep forever" mapped onto native threads.
//
// asyncio.sleep(d) inside a task is a cancellation point; here a task that must notice
// a cancel takes a std::stop_token and sleeps with sleep_or_cancelled(), which throws
// task_cancelled (CancelledError) when the token is requested. "Sleep forever" is
// sleep_until_cancelled(): bounded by the tests' patience, so a missed cancel fails the
// test instead of hanging it.
#pragma once

#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <thread>
#include <typeinfo>
#include <vector>

#include <cohort/cohort.hpp>

#include "test_support.hpp"

namespace ported {

using namespace std::chrono_literals;

// asyncio.sleep(d): returns after d, or throws task_cancelled as soon as `st` is requested.
inline void sleep_or_cancelled(const std::stop_token& st, std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (st.stop_requested()) throw cohort::task_cancelled();
    std::this_thread::sleep_for(200us);
  }
}

// Trio's sleep_forever() / asyncio.sleep(10): waits for the cancel, then throws
// task_cancelled. If no cancel comes within the tests' patience, throws a logic_error
// the test reports ("the cancel never arrived").
inline void sleep_until_cancelled(const std::stop_token& st) {
  if (!cohort_test::wait_for_stop(st)) throw std::logic_error("the cancel never arrived");
  throw cohort::task_cancelled();
}

// Waits (bounded) until `flag` is set.
inline bool wait_flag(const std::atomic<bool>& flag) {
  return cohort_test::eventually([&] { return flag.load(); });
}

// The exceptions of a task_group_error, as the dynamic types' names, sorted; for
// comparisons in the spirit of the originals' get_error_types().
template <class E>
bool holds(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const E&) {
    return true;
  } catch (...) {
    return false;
  }
}

template <class E>
bool all_of_type(const cohort::task_group_error& g) {
  for (const auto& e : g.exceptions())
    if (!holds<E>(e)) return false;
  return !g.exceptions().empty();
}

// Records what reaches a scheduler's unhandled-exception handler.
class handler_log {
 public:
  void attach(cohort::scheduler& s) {
    s.set_unhandled_exception_handler([this](std::exception_ptr e, std::string_view) {
      std::lock_guard lock(m_);
      seen_.push_back(std::move(e));
    });
  }
  std::vector<std::exception_ptr> seen() {
    std::lock_guard lock(m_);
    return seen_;
  }

 private:
  std::mutex m_;
  std::vector<std::exception_ptr> seen_;
};

// Python's ZeroDivisionError, ValueError, KeyError..., as distinct C++ types.
struct zero_division : std::runtime_error {
  zero_division() : std::runtime_error("division by zero") {}
};
struct value_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct key_error : std::runtime_error {
  key_error() : std::runtime_error("key error") {}
};
struct type_error : std::runtime_error {
  type_error() : std::runtime_error("type error") {}
};
struct my_exc : std::runtime_error {
  my_exc() : std::runtime_error("MyExc") {}
};

}  // namespace ported
