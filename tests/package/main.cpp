// SPDX-License-Identifier: Apache-2.0
// Built against an installed cohort through find_package(cohort) and cohort::cohort.
// Exits 0 when the umbrella header compiles and a scheduler, a group, a detached task and
// the error path work.
#include <cohort/cohort.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>

int main() {
  cohort::scheduler pool({.workers = 2, .name = "consumer"});
  std::atomic<int> detached{0};
  pool.spawn_detached([&] { detached.fetch_add(1); }, {.name = "detached"});

  const int sum = cohort::scope(pool, [](cohort::task_group& g) {
    auto a = g.spawn([] { return 20; });
    auto b = g.spawn([](std::stop_token) { return 22; });
    a.wait();
    b.wait();
    return a.get() + b.get();
  });
  if (sum != 42) {
    std::fprintf(stderr, "scope returned %d, expected 42\n", sum);
    return 1;
  }

  cohort::task_group g(pool, {.name = "failing"});
  g.spawn([] { throw std::runtime_error("expected"); }, {.name = "thrower"});
  try {
    g.join();
    std::fprintf(stderr, "join did not report the failure\n");
    return 1;
  } catch (const cohort::task_group_error& e) {
    std::printf("caught: %s\n", e.what());
  }

  auto [x, y] = cohort::gather(
      pool, [] { return 1; }, [] { return 2; });
  if (x + y != 3) return 1;

  std::printf("cohort package consumer: ok (%zu workers)\n", pool.workers());
  return 0;
}
