// SPDX-License-Identifier: Apache-2.0
// The driver shared by the model tests: run each Relacy test, or run each mutation of
// the protocol and demand that the checker fail on it.
//
//   <binary>                       every test, no mutation; exit 0 iff all pass
//   <binary> --mutations           every mutation in the table; exit 0 iff each one marked
//                                  needed (or Relacy-stricter) makes some test fail and
//                                  every other one passes (so the table stays true)
//   <binary> --test NAME           one test, with Relacy's own output (progress, history)
//   <binary> --mutation SITE KIND ORDER [--verbose]
//                                  one mutation (KIND: weaken|split; ORDER: relaxed,
//                                  acquire, release, acq_rel, seq_cst), printing Relacy's
//                                  failing history with --verbose
//
// COHORT_MODEL_SEARCH=random|bound|full, COHORT_MODEL_CONTEXT_BOUND=<n> and
// COHORT_MODEL_ITERATIONS=<n> (random search) override the search for experiments.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <string>
#include <vector>

#include "atomics.hpp"

namespace cohort::model {

using detail::model_mutation;
using detail::mutation_kind;

struct model_test {
  const char* name;
  // Runs the Relacy test with the given parameters; true when it passed.
  std::function<bool(rl::test_params&)> run;
  // Relacy's exhaustive search (sched_full) is out of reach past ~20 atomic steps per
  // thread; the context-bound search explores every schedule with at most
  // `context_bound` preemptions (plus every value each load may read), which is where
  // these protocols' bugs live (two or three preemptions at the racing steps).
  rl::scheduler_type_e search = rl::sched_bound;
  unsigned context_bound = 2;
};

template <class Test>
model_test test(const char* name, unsigned context_bound = 2,
                rl::scheduler_type_e search = rl::sched_bound) {
  return {name, [](rl::test_params& p) { return rl::simulate<Test>(p); }, search, context_bound};
}

// What a mutation must do to the checker.
enum class expect {
  caught,    // a needed order: some test must fail
  harmless,  // another order covers it (`why` names which): every test must pass
  beyond,    // needed by the C++ model, but the failure needs a behaviour Relacy does not
             // generate (`why` says which); every test passes, and we say so
  stricter,  // harmless by the standard, but Relacy's model of seq_cst operations against
             // seq_cst fences is weaker than [atomics.order] (`why` cites the rule): Relacy
             // fails it, and we say so rather than pretend it is a needed order
};

struct mutation_case {
  model_mutation mutation;
  expect expected;
  const char* why;  // what breaks, what still orders it, or what Relacy cannot generate
};

inline mutation_case must_fail(const char* site, mutation_kind kind, std::memory_order order,
                               const char* why) {
  return {{site, kind, order}, expect::caught, why};
}
inline mutation_case harmless(const char* site, mutation_kind kind, std::memory_order order,
                              const char* why) {
  return {{site, kind, order}, expect::harmless, why};
}
inline mutation_case relacy_stricter(const char* site, mutation_kind kind, std::memory_order order,
                                     const char* why) {
  return {{site, kind, order}, expect::stricter, why};
}
inline mutation_case beyond_checker(const char* site, mutation_kind kind, std::memory_order order,
                                    const char* why) {
  return {{site, kind, order}, expect::beyond, why};
}

inline const char* order_name(std::memory_order o) {
  switch (o) {
    case std::memory_order_relaxed:
      return "relaxed";
    case std::memory_order_consume:
      return "consume";
    case std::memory_order_acquire:
      return "acquire";
    case std::memory_order_release:
      return "release";
    case std::memory_order_acq_rel:
      return "acq_rel";
    case std::memory_order_seq_cst:
      return "seq_cst";
  }
  return "?";
}
inline std::string describe(const model_mutation& m) {
  std::string s = m.site;
  s += m.kind == mutation_kind::split ? " split into load+store (" : " weakened to ";
  s += order_name(m.order);
  if (m.kind == mutation_kind::split) s += ")";
  return s;
}

struct outcome {
  bool passed;
  std::string result;  // Relacy's verdict ("USER ASSERT FAILED", "DEADLOCK", ...)
  rl::iteration_t iterations;
};

inline outcome run_one(const model_test& t, bool verbose) {
  // No buffer: Relacy writes its report while its own allocator is active, and a growing
  // string buffer then crashes; a stream without a buffer discards the text instead.
  std::ostream quiet(nullptr);
  rl::test_params p;
  p.search_type = t.search;
  p.context_bound = t.context_bound;
  if (const char* s = std::getenv("COHORT_MODEL_SEARCH")) {  // experiments: random|bound|full
    if (!std::strcmp(s, "random")) p.search_type = rl::sched_random;
    if (!std::strcmp(s, "bound")) p.search_type = rl::sched_bound;
    if (!std::strcmp(s, "full")) p.search_type = rl::sched_full;
  }
  if (const char* n = std::getenv("COHORT_MODEL_ITERATIONS"))
    p.iteration_count = std::strtoul(n, nullptr, 10);
  if (const char* b = std::getenv("COHORT_MODEL_CONTEXT_BOUND"))
    p.context_bound = std::strtoul(b, nullptr, 10);
  if (!verbose) {
    p.output_stream = &quiet;
    p.progress_stream = &quiet;
  }
  const bool ok = t.run(p);
  return {ok, rl::test_result_str(p.test_result), p.stop_iteration};
}

inline bool run_all(const std::vector<model_test>& tests, bool verbose) {
  bool all = true;
  for (const model_test& t : tests) {
    const outcome o = run_one(t, verbose);
    std::printf("%-40s %s (%llu schedules)\n", t.name, o.passed ? "passed" : o.result.c_str(),
                static_cast<unsigned long long>(o.iterations));
    std::fflush(stdout);
    all = all && o.passed;
  }
  return all;
}

// Returns the first test that fails under the active mutation, or nullptr.
inline const model_test* first_failure(const std::vector<model_test>& tests, std::string& why) {
  for (const model_test& t : tests) {
    const outcome o = run_one(t, false);
    if (!o.passed) {
      why = o.result;
      return &t;
    }
  }
  return nullptr;
}

inline bool run_mutations(const std::vector<model_test>& tests,
                          const std::vector<mutation_case>& cases) {
  bool all = true;
  int counts[4] = {0, 0, 0, 0};
  int caught = 0;
  for (const mutation_case& c : cases) {
    detail::active_mutation = c.mutation;
    detail::mutation_hits = 0;
    std::string result;
    const model_test* failing = first_failure(tests, result);
    detail::active_mutation = {};
    const bool site_ran = detail::mutation_hits != 0;
    if (!site_ran) std::printf("FAIL %s: no test runs this site\n", c.mutation.site);
    const bool as_expected = site_ran && (failing != nullptr) == (c.expected == expect::caught ||
                                                                  c.expected == expect::stricter);
    ++counts[static_cast<int>(c.expected)];
    if (c.expected == expect::caught && failing) ++caught;
    const char* verdict = failing ? "CAUGHT" : "not caught";
    const char* label = c.expected == expect::caught     ? "needed"
                        : c.expected == expect::harmless ? "harmless"
                        : c.expected == expect::beyond   ? "beyond Relacy"
                                                         : "harmless, Relacy stricter";
    std::printf("%s %-60s %s", as_expected ? "ok  " : "FAIL", describe(c.mutation).c_str(),
                verdict);
    if (failing) std::printf(" by %s (%s)", failing->name, result.c_str());
    std::printf(" [%s]\n     %s\n", label, c.why);
    std::fflush(stdout);
    all = all && as_expected;
  }
  std::printf(
      "%d of %d needed orders caught; %d harmless weakenings and %d beyond Relacy's "
      "model passed, %d harmless by the standard failed in Relacy, as the table says\n",
      caught, counts[0], counts[1], counts[2], counts[3]);
  return all;
}

inline std::memory_order parse_order(const char* s) {
  if (!std::strcmp(s, "relaxed")) return std::memory_order_relaxed;
  if (!std::strcmp(s, "acquire")) return std::memory_order_acquire;
  if (!std::strcmp(s, "release")) return std::memory_order_release;
  if (!std::strcmp(s, "acq_rel")) return std::memory_order_acq_rel;
  if (!std::strcmp(s, "seq_cst")) return std::memory_order_seq_cst;
  std::fprintf(stderr, "unknown memory order '%s'\n", s);
  std::exit(2);
}

inline int model_main(int argc, char** argv, const std::vector<model_test>& tests,
                      const std::vector<mutation_case>& cases) {
  if (argc == 1) return run_all(tests, false) ? 0 : 1;
  if (argc == 3 && !std::strcmp(argv[1], "--test")) {
    for (const model_test& t : tests)
      if (!std::strcmp(t.name, argv[2])) return run_all({t}, true) ? 0 : 1;
    std::fprintf(stderr, "no test named '%s'\n", argv[2]);
    return 2;
  }
  if (argc == 2 && !std::strcmp(argv[1], "--mutations")) return run_mutations(tests, cases) ? 0 : 1;
  if ((argc == 5 || argc == 6) && !std::strcmp(argv[1], "--mutation")) {
    const bool split = !std::strcmp(argv[3], "split");
    if (!split && std::strcmp(argv[3], "weaken") != 0) {
      std::fprintf(stderr, "unknown mutation kind '%s' (weaken|split)\n", argv[3]);
      return 2;
    }
    detail::active_mutation = {argv[2], split ? mutation_kind::split : mutation_kind::weaken,
                               parse_order(argv[4])};
    const bool verbose = argc == 6 && !std::strcmp(argv[5], "--verbose");
    // Exit 0 when the checker caught the mutation (this is what a mutation run wants).
    return run_all(tests, verbose) ? 1 : 0;
  }
  std::fprintf(stderr, "usage: %s [--mutations | --mutation SITE weaken|split ORDER [--verbose]]\n",
               argv[0]);
  return 2;
}

}  // namespace cohort::model
