// SPDX-License-Identifier: Apache-2.0
// Randomized torture test: random LEGAL programs over cohort's public API (nested groups,
// gathers, scopes, waits on siblings and on tasks of other schedulers' groups,
// max_concurrency, cancels, failures, deadlines, with_timeout, race, wait/as_completed,
// blocking outside cohort, several schedulers of 1-4 workers), each checked for: it ends
// (a watchdog prints the seed, the program and every scheduler's dump(), then aborts),
// every task ended exactly once, every failure reported. See torture/program.hpp for what
// "legal" means and why a legal program cannot hang on a correct scheduler.
//
// Environment:
//   COHORT_TORTURE_SEED=<n>         run program n only, COHORT_TORTURE_REPEAT times (default 200)
//   COHORT_TORTURE_FIRST_SEED=<n>   first seed of a run (default 1)
//   COHORT_TORTURE_SEEDS=<count>    programs to run (default 3000; 150 under TSan)
//   COHORT_TORTURE_SECONDS=<s>      stop after s seconds (default 40; 300 under TSan)
//   COHORT_TORTURE_WORKERS=<n>      every scheduler gets n workers (default: 1-4 at random)
//   COHORT_TORTURE_BIAS=0|1         1: every program biased toward the shapes of issue 9's
//                                   deadlocks (sibling waits, gathers, foreign joins); 0: none;
//                                   default: every other program, at random
//   COHORT_TORTURE_WITHOUT=<a,b>    features the generator must not use (names: see
//                                   torture::features::names(); e.g. limited,foreign)
//   COHORT_TORTURE_HANG_MS=<ms>     a program that runs longer hangs (default 10000; 60000 TSan)
//   COHORT_TORTURE_GUARD=0|1        1: every program's schedulers get the silent-block
//                                   guard; 0: only programs that need it (an outside wait
//                                   from a pool thread); default: those, and a quarter of
//                                   the rest at random (program.hpp)
//   COHORT_TORTURE_VERBOSE=1        print every program before running it
//   COHORT_TORTURE_KEEP_GOING=1     after a broken contract, print it and go on (a hang
//                                   still aborts: its schedulers cannot be taken back)
// COHORT_TEST_SCALE multiplies the default seed count.
//
// Soak (an hour of fresh seeds, release build):
//   COHORT_TORTURE_SECONDS=3600 COHORT_TORTURE_SEEDS=100000000 build/release/tests/torture_test
// Reproduce a reported seed (with the run's COHORT_TORTURE_WORKERS/BIAS/WITHOUT, which
// shape the program too):
//   COHORT_TORTURE_SEED=<n> build/release/tests/torture_test
// Survey many seeds past hangs: tests/stress/torture/hunt.sh (see its header).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>

#include "test_support.hpp"
#include "torture/program.hpp"
#include "torture/runner.hpp"
#include "torture/watchdog.hpp"

namespace {

long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < 0) {
    std::fprintf(stderr, "%s=%s is not a non-negative integer\n", name, v);
    std::exit(2);
  }
  return x;
}

torture::features features_from_env() {
  torture::features f;
  if (const char* v = std::getenv("COHORT_TORTURE_WITHOUT")) {
    std::stringstream ss(v);
    std::string name;
    while (std::getline(ss, name, ','))
      if (!name.empty() && !f.enable(name, false)) {
        std::fprintf(stderr, "COHORT_TORTURE_WITHOUT: unknown feature '%s'; known: %s\n",
                     name.c_str(), torture::features::names().c_str());
        std::exit(2);
      }
  }
  return f;
}

std::string states_of(const torture::context& cx) {
  std::string out = "node states (started/finished):";
  for (std::size_t i = 0; i < cx.states.size(); ++i)
    out += cohort_test::label(" n", static_cast<long>(i)) +
           cohort_test::label("=", static_cast<long>(cx.states[i].started.load())) + "/" +
           std::to_string(cx.states[i].finished.load());
  out += "\nunfinished nodes and where they are:\n";
  for (std::size_t i = 0; i < cx.states.size(); ++i) {
    const auto& s = cx.states[i];
    if (s.started.load() == 0 || s.finished.load() != 0) continue;
    const int at = s.at.load(std::memory_order_relaxed);
    const auto& n = cx.prog.nodes[i];
    out += cohort_test::label("  n", static_cast<long>(i)) + ": ";
    if (at == torture::node_state::waiting_outside) {
      out += cohort_test::label("waiting outside cohort for n", n.waits_outside_for) + " to start";
    } else if (at < 0) {
      out += "phase 1 (spawning)";
    } else if (at == torture::node_state::joining) {
      out += n.abandon_groups || n.fails_early ? "destroying its groups" : "joining its groups";
    } else {
      const auto& a = n.actions[static_cast<std::size_t>(at)];
      out += std::string("action ") + std::to_string(at) + " " + torture::name_of(a.kind);
      for (int t : a.targets) out += cohort_test::label(" n", static_cast<long>(t));
      for (int e : a.elements) out += cohort_test::label(" [n", static_cast<long>(e)) + "]";
    }
    out += "\n";
  }
  return out;
}

// Runs program p once; returns the violations found (empty: all good).
std::vector<std::string> run_program(const torture::program& p, torture::watchdog& dog,
                                     std::chrono::milliseconds hang_limit) {
  torture::context cx(p);
  const std::string text = p.describe();
  std::optional<cohort_test::silent_block_guard_off> no_guard;  // read when a scheduler is built
  if (!p.silent_block_guard) no_guard.emplace();
  for (std::size_t s = 0; s < p.workers.size(); ++s) {
    cx.schedulers.push_back(std::make_unique<cohort::scheduler>(cohort::scheduler_options{
        .workers = p.workers[s], .name = cohort_test::label("t", static_cast<long>(s))}));
    cx.schedulers.back()->set_unhandled_exception_handler(
        [&cx](std::exception_ptr e, std::string_view) { cx.on_unhandled(std::move(e)); });
  }
  auto service =
      std::make_unique<cohort::scheduler>(cohort::scheduler_options{.workers = 2, .name = "svc"});
  cx.service = service.get();
  no_guard.reset();
  dog.arm(hang_limit, [&] {
    std::string out = text + states_of(cx);
    for (std::size_t s = 0; s < cx.schedulers.size(); ++s)
      out += cohort_test::label("---- dump of scheduler s", static_cast<long>(s)) + ":\n" +
             cx.schedulers[s]->dump();
    out += cohort_test::label("---- reproduce: COHORT_TORTURE_SEED=", static_cast<long>(p.seed)) +
           "\n";
    return out;
  });

  std::exception_ptr root_escaped;
  try {
    if (p.root_as_task) {
      cohort::task_group wrapper(cx.sched(0), {.name = "root-wrapper"});
      auto t = wrapper.spawn([&cx] { return torture::run_node(cx, 0, {}); }, {.name = "n0"});
      // A timed wait runs nothing: main then lends the root no hand (a join may run the
      // root, or steal its children from the only worker).
      if (p.root_waited_timed)
        while (!t.wait_for(std::chrono::milliseconds(5))) {
        }
      wrapper.join();
    } else {
      torture::run_node(cx, 0, {});
    }
  } catch (...) {
    root_escaped = std::current_exception();
  }
  if (root_escaped) {
    try {
      std::rethrow_exception(root_escaped);
    } catch (const cohort::task_group_error& e) {
      // The root never fails itself: a group error is its join's (root_as_task: wrapped).
      if (!p.root_as_task && cx.states[0].escaped != root_escaped)
        cx.fail("root: escaped an error its joins did not throw");
    } catch (const cohort::timeout_error&) {
    } catch (...) {
      cx.fail(std::string("root: escaped ") + torture::what_kind(root_escaped));
    }
  }
  torture::final_checks(cx);
  for (auto& s : cx.states) s.handle.reset();
  // One at a time, saying which (a destructor waits for detached tasks and stops the
  // workers); the ones not yet destroyed are still dumped.
  for (std::size_t k = 0; k <= cx.schedulers.size(); ++k) {
    const bool svc = k == cx.schedulers.size();
    dog.set_description([&, k, svc] {
      std::string out = text + "(hung while destroying scheduler " +
                        (svc ? std::string("svc") : cohort_test::label("s", static_cast<long>(k))) +
                        ")\n";
      for (std::size_t j = k + 1; j < cx.schedulers.size(); ++j)
        out += cohort_test::label("---- dump of scheduler s", static_cast<long>(j)) + ":\n" +
               cx.schedulers[j]->dump();
      if (!svc) out += "---- dump of scheduler svc:\n" + service->dump();
      return out +
             cohort_test::label("---- reproduce: COHORT_TORTURE_SEED=", static_cast<long>(p.seed)) +
             "\n";
    });
    if (svc)
      service.reset();
    else
      cx.schedulers[k].reset();
  }
  dog.disarm();
  return cx.violations;
}

TEST(torture, random_legal_programs_end_and_lose_nothing) {
  using namespace std::chrono;
  const bool tsan = cohort_test::under_tsan;
  const long one_seed = env_long("COHORT_TORTURE_SEED", -1);
  const long first = one_seed >= 0 ? one_seed : env_long("COHORT_TORTURE_FIRST_SEED", 1);
  const long repeat = one_seed >= 0 ? env_long("COHORT_TORTURE_REPEAT", 200) : 1;
  const long seeds = one_seed >= 0 ? 1
                                   : env_long("COHORT_TORTURE_SEEDS",
                                              static_cast<long>(cohort_test::scaled(3000, 150)));
  const seconds budget(env_long("COHORT_TORTURE_SECONDS", tsan ? 300 : 40));
  const milliseconds hang_limit(env_long("COHORT_TORTURE_HANG_MS", tsan ? 60000 : 10000));
  const int forced_workers = static_cast<int>(env_long("COHORT_TORTURE_WORKERS", 0));
  const int bias = std::getenv("COHORT_TORTURE_BIAS")
                       ? static_cast<int>(env_long("COHORT_TORTURE_BIAS", 0))
                       : -1;
  const int guard = std::getenv("COHORT_TORTURE_GUARD")
                        ? static_cast<int>(env_long("COHORT_TORTURE_GUARD", 0))
                        : -1;
  const bool verbose = env_long("COHORT_TORTURE_VERBOSE", 0) != 0;
  const bool keep_going = env_long("COHORT_TORTURE_KEEP_GOING", 0) != 0;
  const torture::features f = features_from_env();
  long broken = 0;

  torture::watchdog dog;
  const auto start = steady_clock::now();
  long ran = 0;
  for (long seed = first; seed < first + seeds; ++seed) {
    torture::program p =
        torture::generator(static_cast<std::uint64_t>(seed), f, forced_workers, bias).build();
    if (guard == 1) p.silent_block_guard = true;
    if (guard == 0) p.silent_block_guard = p.needs_silent_block_guard;
    if (verbose) std::fprintf(stderr, "%s", p.describe().c_str());
    for (long r = 0; r < repeat; ++r) {
      const auto violations = run_program(p, dog, hang_limit);
      ++ran;
      if (!violations.empty()) {
        std::string msg;
        for (auto& v : violations) msg += "  " + v + "\n";
        ++broken;
        if (keep_going) {
          std::fprintf(stderr, "BROKEN seed %ld: %s", seed, msg.c_str());
          break;
        }
        FAIL() << "seed " << seed << " (run " << r + 1 << "): the contract was broken:\n"
               << msg << p.describe() << "reproduce: COHORT_TORTURE_SEED=" << seed;
      }
      if (steady_clock::now() - start > budget) break;
    }
    if (steady_clock::now() - start > budget) break;
  }
  std::printf("torture: %ld program runs from seed %ld in %.1f s\n", ran, first,
              duration<double>(steady_clock::now() - start).count());
  EXPECT_GT(ran, 0);
  EXPECT_EQ(broken, 0) << "programs that broke the contract (listed above as BROKEN)";
}

}  // namespace
