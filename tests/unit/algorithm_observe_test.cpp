// SPDX-License-Identifier: Apache-2.0
// A parallel loop shows up in scheduler::dump() and in Chrome traces the way a task group
// does: a piece a thief took is named "name[lo,hi)" (the algorithm's name when the loop
// has none).
#include <cohort/algorithm.hpp>
#include <cohort/scheduler.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace {

using cohort_test::gate;
using cohort_test::poll_until;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs `loop` on a thread outside the pool with every element held at `hold` until a dump
// shows `wanted`; returns that dump ("" if it never did).
template <class Loop>
std::string dump_while_held(cohort::scheduler& s, gate& hold, const std::string& wanted,
                            Loop&& loop) {
  std::thread caller(std::forward<Loop>(loop));
  std::string d;
  const bool seen = poll_until([&] {
    d = s.dump();
    return d.find(wanted) != std::string::npos;
  });
  hold.open();
  caller.join();
  return seen ? d : "";
}

TEST(algorithm_observe, a_stolen_piece_of_a_named_loop_is_named_in_the_dump) {
  cohort::scheduler s({.workers = 2, .name = "obs"});
  gate hold;
  std::atomic<bool> all_waited{true};
  const std::string d = dump_while_held(s, hold, "loop piece 'blur[", [&] {
    cohort::for_each_index(s, std::size_t{0}, std::size_t{1000},
                           [&](std::size_t) {
                             if (!hold.wait()) all_waited = false;
                           },
                           {.name = "blur"});
  });
  EXPECT_TRUE(all_waited);
  ASSERT_FALSE(d.empty()) << s.dump();
  // The piece covers a range inside the loop: "blur[lo,hi)".
  const std::size_t at = d.find("loop piece 'blur[");
  const std::size_t close = d.find(")'", at);
  ASSERT_NE(close, std::string::npos) << d;
  const std::string range = d.substr(at + 17, close - at - 17);
  std::size_t lo = 0, hi = 0;
  ASSERT_EQ(std::sscanf(range.c_str(), "%zu,%zu", &lo, &hi), 2) << d;
  EXPECT_LT(lo, hi) << d;
  EXPECT_LE(hi, 1000u) << d;
}

TEST(algorithm_observe, an_unnamed_loop_is_named_by_its_algorithm) {
  cohort::scheduler s({.workers = 2, .name = "obs"});
  gate hold;
  std::vector<int> v(1000, 1);
  const std::string d = dump_while_held(s, hold, "loop piece 'reduce[", [&] {
    (void)cohort::transform_reduce(s, v, 0, std::plus<>{}, [&](int x) {
      hold.wait();
      return x;
    });
  });
  EXPECT_FALSE(d.empty()) << s.dump();
}

TEST(algorithm_observe, stolen_pieces_are_spans_of_the_trace) {
  cohort::scheduler s({.workers = 2, .name = "otr"});
  s.start_tracing();
  gate hold;
  const std::string d = dump_while_held(s, hold, "loop piece 'scale[", [&] {
    cohort::for_each_index(s, 0, 1000, [&](int) { hold.wait(); }, {.name = "scale"});
  });
  s.stop_tracing();
  ASSERT_FALSE(d.empty()) << s.dump();
  const std::string path = ::testing::TempDir() + "cohort_algorithm_trace.json";
  ASSERT_TRUE(s.write_trace(path));
  const std::string json = read_file(path);
  EXPECT_NE(json.find("\"name\":\"scale["), std::string::npos) << json;
}

}  // namespace
