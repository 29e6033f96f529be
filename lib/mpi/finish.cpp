// SPDX-License-Identifier: Apache-2.0
// The end of a call: every rank learns how every rank ended, drains the stop messages
// still on their way, then either throws the same error as every other rank or receives
// the other ranks' results.
#include "call.hpp"

#include <algorithm>
#include <cstring>
#include <string>

namespace cohort::mpi::detail {
namespace {

void put_u64(std::vector<std::byte>& out, std::uint64_t v) {
  const auto at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

std::uint64_t get_u64(const std::byte*& p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

std::vector<std::uint64_t> sizes_of(const std::vector<call_summary>& all,
                                    std::uint64_t call_summary::*field, std::uint64_t scale = 1) {
  std::vector<std::uint64_t> sizes;
  for (const auto& s : all) sizes.push_back(s.*field * scale);
  return sizes;
}

}  // namespace

void call::finish() {
  // Every rank is past the barrier: no request or grant is in flight and nobody sends
  // another stop, so these summaries are final.
  std::vector<failure> failures;
  {
    std::lock_guard lock(shared_.mutex);
    failures = std::move(shared_.failures);
  }
  std::sort(failures.begin(), failures.end(),
            [](const failure& a, const failure& b) { return a.index < b.index; });
  std::vector<std::byte> failure_blob;
  for (const auto& f : failures) {
    const std::string what = describe_exception(f.error);
    put_u64(failure_blob, f.index);
    put_u64(failure_blob, what.size());
    const auto at = failure_blob.size();
    failure_blob.resize(at + what.size());
    if (!what.empty()) std::memcpy(failure_blob.data() + at, what.data(), what.size());
  }
  std::uint64_t result_bytes = 0;
  if (body_.has_results())
    for (auto [begin, end] : ran_chunks_) result_bytes += body_.packed_size(begin, end);
  const call_summary mine{
      raised_,      failures.size(),     failure_blob.size(), ran_chunks_.size(),
      result_bytes, sent_stop_ ? 1u : 0u};
  std::vector<call_summary> all(static_cast<std::size_t>(ranks_));
  constexpr int words = sizeof(call_summary) / sizeof(std::uint64_t);
  MPI_Request request;
  check(
      MPI_Iallgather(&mine, words, MPI_UINT64_T, all.data(), words, MPI_UINT64_T, comm_, &request),
      "MPI_Iallgather");
  wait_polling(request);

  // Drain: every stop message sent in this call is received in this call. They were sent
  // before their senders entered the barrier, so these receives return promptly.
  std::uint64_t word = 0;
  for (int r = 0; r < ranks_; ++r)
    if (r != me_ && all[static_cast<std::size_t>(r)].sent_stop &&
        !stop_received_[static_cast<std::size_t>(r)])
      check(MPI_Recv(&word, 1, MPI_UINT64_T, r, tag_stop, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
  for (auto& s : sends_) wait_polling(s.request);
  sends_.clear();

  // The same decision on every rank, from the same summaries (the order of join()).
  std::uint64_t reasons = 0, failed = 0;
  for (const auto& s : all) {
    reasons |= s.reasons;
    failed += s.failures;
  }
  if (failed > 0) {
    shared_.failures = std::move(failures);  // this rank's own exceptions, in index order
    const auto blobs =
        allgather_bytes(comm_, failure_blob, sizes_of(all, &call_summary::failure_bytes));
    struct entry {
      std::size_t index;
      std::exception_ptr error;
    };
    std::vector<entry> entries;
    const std::byte* p = blobs.data();
    std::size_t own = 0;
    for (int r = 0; r < ranks_; ++r) {
      for (std::uint64_t k = 0; k < all[static_cast<std::size_t>(r)].failures; ++k) {
        const auto index = static_cast<std::size_t>(get_u64(p));
        const auto len = static_cast<std::size_t>(get_u64(p));
        std::string what(reinterpret_cast<const char*>(p), len);
        p += len;
        if (r == me_)
          entries.push_back({index, shared_.failures[own++].error});
        else
          entries.push_back({index, std::make_exception_ptr(remote_error(r, index, what))});
      }
    }
    std::sort(entries.begin(), entries.end(),
              [](const entry& a, const entry& b) { return a.index < b.index; });
    std::vector<std::exception_ptr> errors;
    std::vector<std::string> names;
    for (auto& e : entries) {
      errors.push_back(std::move(e.error));
      names.push_back(options_.name + "[" + std::to_string(e.index) + "]");
    }
    throw task_group_error(std::move(errors), names, n_);
  }
  if (reasons & reason_timeout) throw timeout_error();
  if (reasons & reason_cancelled) throw task_cancelled();
  if (body_.has_results()) exchange_results(all);
}

// Every rank sends the results of the chunks it ran, and writes in the other ranks'.
void call::exchange_results(const std::vector<call_summary>& all) {
  std::vector<std::byte> table, payload;
  for (auto [begin, end] : ran_chunks_) {
    put_u64(table, begin);
    put_u64(table, end);
    const auto bytes = body_.packed_size(begin, end);
    put_u64(table, bytes);
    const auto at = payload.size();
    payload.resize(at + bytes);
    body_.pack(begin, end, payload.data() + at);
  }
  const auto tables = allgather_bytes(
      comm_, table, sizes_of(all, &call_summary::chunks, 3 * sizeof(std::uint64_t)));
  const auto payloads = allgather_bytes(comm_, payload, sizes_of(all, &call_summary::result_bytes));
  const std::byte* t = tables.data();
  const std::byte* p = payloads.data();
  for (int r = 0; r < ranks_; ++r) {
    for (std::uint64_t k = 0; k < all[static_cast<std::size_t>(r)].chunks; ++k) {
      const auto begin = static_cast<std::size_t>(get_u64(t));
      const auto end = static_cast<std::size_t>(get_u64(t));
      const auto bytes = static_cast<std::size_t>(get_u64(t));
      if (r != me_) body_.unpack(begin, end, p, bytes);
      p += bytes;
    }
  }
}

}  // namespace cohort::mpi::detail
