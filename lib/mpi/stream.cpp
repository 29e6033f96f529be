// SPDX-License-Identifier: Apache-2.0
// item_stream: items of unknown number handed out by rank 0 as they are pushed, run on
// every rank, their results sent back to rank 0 (include/cohort/mpi.hpp; the protocol in
// README.md, "The protocol of a stream"; the message kinds in protocol.hpp).
//
// Threads: the progress thread (the one in run()) is the only one calling MPI and the only
// one calling the handlers. push(), close(), complete() and stop() come from any thread and
// only touch `shared` under its mutex, then wake the progress thread.
#include "exchange.hpp"
#include "protocol.hpp"
#include "runtime.hpp"

#include <cohort/mpi.hpp>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <stdexcept>
#include <thread>
#include <unordered_map>

namespace cohort::mpi {
namespace {

using detail::backoff;
using detail::check;

using item = std::pair<std::uint64_t, std::string>;

// A grant carries at most this many bytes of items (at least one item), so a rank with a
// large capacity and long command lines does not receive one huge message.
constexpr std::size_t grant_bytes = std::size_t(1) << 20;

// A rank other than 0 queues `capacity` items behind its running ones (the next item is a
// round trip away, up to one poll interval of rank 0: ~10 ms) only while its items are
// short: an item queued behind a long one would wait for it while another rank may be idle
// (a job queued behind a 30 s job starts 30 s late). Items are "short" while the moving
// average of their run times on this rank is below this.
constexpr std::chrono::milliseconds short_item{50};

void put_u64(std::string& out, std::uint64_t v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
std::uint64_t get_u64(const std::string& in, std::size_t& at) {
  if (at + sizeof(std::uint64_t) > in.size())
    throw std::runtime_error("cohort::mpi::item_stream: truncated message");
  std::uint64_t v = 0;
  std::memcpy(&v, in.data() + at, sizeof v);
  at += sizeof v;
  return v;
}
void put_item(std::string& out, std::uint64_t index, const std::string& bytes) {
  put_u64(out, index);
  put_u64(out, bytes.size());
  out += bytes;
}
item get_item(const std::string& in, std::size_t& at) {
  const std::uint64_t index = get_u64(in, at);
  const std::uint64_t len = get_u64(in, at);
  if (at + len > in.size()) throw std::runtime_error("cohort::mpi::item_stream: truncated item");
  item it{index, in.substr(at, static_cast<std::size_t>(len))};
  at += static_cast<std::size_t>(len);
  return it;
}

}  // namespace

struct item_stream::state {
  state(std::size_t c, handlers hs) : capacity(std::max<std::size_t>(1, c)), h(std::move(hs)) {}

  const std::size_t capacity;
  handlers h;
  int me = 0, ranks = 1;
  std::size_t bound = 0;  // rank 0: most items waiting to be handed out

  // Shared with the threads that push, complete and stop.
  struct {
    std::mutex mutex;
    std::condition_variable wake;  // the progress thread sleeps here between polls
    std::condition_variable room;  // push() waits here for room in `queue`
    bool event = false;
    std::deque<item> queue;  // rank 0: pushed, not yet handed out
    std::uint64_t pushed = 0;
    bool closed = false;
    bool refuse = false;  // push() drops from now on (stopped, or closed)
    std::vector<item> completed;
    bool stop_requested = false;
    std::uint64_t stop_code = 0;
    std::uint64_t dropped = 0;
  } shared;

  // Progress thread only.
  MPI_Comm comm = MPI_COMM_NULL;
  bool stopped = false;
  std::size_t running = 0;  // handed to h.run, not yet completed
  backoff pause;
  struct pending_send {
    std::string bytes;
    MPI_Request request = MPI_REQUEST_NULL;
  };
  std::deque<pending_send> sends;  // references stay valid on emplace_back (MPI owns them)
  // ranks != 0
  std::deque<item> held;  // granted, not yet run
  std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> started;
  std::chrono::steady_clock::duration average_run{};  // moving average; zero: none ended yet
  bool request_out = false;
  bool got_end = false;
  // rank 0: what it knows of each rank
  struct peer {
    bool request_pending = false;
    std::uint64_t wanted = 0;
    std::uint64_t outstanding = 0;  // granted, neither completed nor dropped
    bool ended = false;             // 'E' sent
    bool bye = false;               // 'B' received
  };
  std::vector<peer> peers;

  void send(int to, int tag, std::string bytes) {
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
      throw std::length_error(
          "cohort::mpi::item_stream: a message over 2 GiB (an item or result too large)");
    pending_send& s = sends.emplace_back();
    s.bytes = std::move(bytes);
    check(MPI_Isend(s.bytes.data(), static_cast<int>(s.bytes.size()), MPI_BYTE, to, tag, comm,
                    &s.request),
          "MPI_Isend");
    detail::test_a_few_times(s.request);  // push it out before this thread sleeps
  }
  void reap_sends() {
    while (!sends.empty() && detail::test_a_few_times(sends.front().request)) sends.pop_front();
  }
  // One waiting message with `tag` from `source`, or nothing.
  bool receive(int source, int tag, std::string& bytes, int& from) {
    MPI_Status status;
    int flag = 0;
    for (int k = 0; k < detail::progress_calls && !flag; ++k)
      check(MPI_Iprobe(source, tag, comm, &flag, &status), "MPI_Iprobe");
    if (!flag) return false;
    int count = 0;
    check(MPI_Get_count(&status, MPI_BYTE, &count), "MPI_Get_count");
    bytes.resize(static_cast<std::size_t>(count));
    from = status.MPI_SOURCE;
    check(MPI_Recv(bytes.data(), count, MPI_BYTE, from, tag, comm, MPI_STATUS_IGNORE), "MPI_Recv");
    return true;
  }

  // The local events since the last look: completions, a stop asked for here.
  bool take_local(std::vector<item>& done, bool& stop_asked, std::uint64_t& code) {
    std::lock_guard lock(shared.mutex);
    const bool any = shared.event;
    shared.event = false;
    done.swap(shared.completed);
    stop_asked = shared.stop_requested;
    code = shared.stop_code;
    return any;
  }

  // This rank learns the stream stops (raised here or received). Rank 0 drops what is
  // queued and tells every rank not yet ended; another rank reports its held items as
  // dropped and, when the stop was raised here, tells rank 0 (which tells the others).
  void stop_here(std::uint64_t code, bool raised_here) {
    if (stopped) return;
    stopped = true;
    {
      std::lock_guard lock(shared.mutex);
      shared.refuse = true;
      if (me == 0) {
        shared.dropped += shared.queue.size();
        shared.queue.clear();
      }
    }
    shared.room.notify_all();
    if (me == 0) {
      std::string m(1, 'S');
      put_u64(m, code);
      for (int r = 1; r < ranks; ++r)
        if (!peers[static_cast<std::size_t>(r)].ended) send(r, detail::tag_stream_down, m);
    } else {
      if (raised_here) {
        std::string m(1, 'S');
        put_u64(m, code);
        send(0, detail::tag_stream_up, std::move(m));
      }
      report_dropped(held.size());
      held.clear();
    }
    if (h.stopped) h.stopped(code);
  }
  void report_dropped(std::size_t count) {
    if (count == 0) return;
    std::string m(1, 'X');
    put_u64(m, count);
    send(0, detail::tag_stream_up, std::move(m));
  }

  void run_item(item it) {
    ++running;
    if (me != 0) started.emplace(it.first, std::chrono::steady_clock::now());
    h.run(it.first, std::move(it.second));
  }

  void progress_rank0();
  void progress_other();
  bool serve(int r);
  void sleep() {
    std::unique_lock lock(shared.mutex);
    shared.wake.wait_for(lock, pause.next(stopped ? backoff::ending_max : backoff::working_max),
                         [this] { return shared.event; });
  }
};

void item_stream::state::progress_rank0() {
  std::vector<item> done;
  std::string bytes;
  for (;;) {
    bool stop_asked = false;
    std::uint64_t code = 0;
    bool progressed = take_local(done, stop_asked, code);
    if (stop_asked) stop_here(code, true);
    for (auto& [index, result] : done) {
      --running;
      h.finished(index, 0, std::move(result));
    }
    done.clear();
    int from = 0;
    while (receive(MPI_ANY_SOURCE, detail::tag_stream_up, bytes, from)) {
      progressed = true;
      peer& p = peers[static_cast<std::size_t>(from)];
      std::size_t at = 1;
      switch (bytes.at(0)) {
        case 'R':
          p.request_pending = true;
          p.wanted = get_u64(bytes, at);
          break;
        case 'C':
          for (std::uint64_t k = get_u64(bytes, at); k > 0; --k) {
            auto [index, result] = get_item(bytes, at);
            --p.outstanding;
            h.finished(index, from, std::move(result));
          }
          break;
        case 'X': {
          const std::uint64_t count = get_u64(bytes, at);
          p.outstanding -= count;
          std::lock_guard lock(shared.mutex);
          shared.dropped += count;
          break;
        }
        case 'S':
          stop_here(get_u64(bytes, at), false);
          break;
        case 'B':
          p.bye = true;
          break;
        default:
          throw std::runtime_error("cohort::mpi::item_stream: unknown message from rank " +
                                   std::to_string(from));
      }
    }
    // A handler may have asked for a stop or a close; take it before handing out more.
    {
      std::lock_guard lock(shared.mutex);
      stop_asked = shared.stop_requested;
      code = shared.stop_code;
    }
    if (stop_asked) stop_here(code, true);
    for (int r = 1; r < ranks; ++r) progressed |= serve(r);
    // Rank 0's own slots.
    while (!stopped && running < capacity) {
      item it;
      {
        std::lock_guard lock(shared.mutex);
        if (shared.queue.empty()) break;
        it = std::move(shared.queue.front());
        shared.queue.pop_front();
      }
      shared.room.notify_one();
      run_item(std::move(it));
      progressed = true;
    }
    reap_sends();
    bool input_over = false;
    {
      std::lock_guard lock(shared.mutex);
      input_over = stopped || (shared.closed && shared.queue.empty());
    }
    if (input_over && running == 0 && sends.empty() &&
        std::all_of(peers.begin() + 1, peers.end(), [](const peer& p) { return p.ended && p.bye; }))
      return;
    if (progressed) pause.reset();
    sleep();
  }
}

// Rank 0 answers rank r's request: a grant while items wait, the end once no more will come
// and r has nothing outstanding; else the request waits.
bool item_stream::state::serve(int r) {
  peer& p = peers[static_cast<std::size_t>(r)];
  if (!p.request_pending) return false;
  std::string m(1, 'G');
  std::uint64_t count = 0;
  bool input_over = false;
  if (!stopped && p.wanted > 0) {
    std::lock_guard lock(shared.mutex);
    // A fair share of what waits, so the last items spread over the ranks.
    const std::size_t share =
        std::max<std::size_t>(1, (shared.queue.size() + static_cast<std::size_t>(ranks) - 1) /
                                     static_cast<std::size_t>(ranks));
    const std::size_t limit = std::min<std::size_t>(static_cast<std::size_t>(p.wanted), share);
    put_u64(m, 0);  // the count, written below
    while (count < limit && !shared.queue.empty() && (count == 0 || m.size() < grant_bytes)) {
      put_item(m, shared.queue.front().first, shared.queue.front().second);
      shared.queue.pop_front();
      ++count;
    }
    input_over = shared.closed && shared.queue.empty();
  } else {
    std::lock_guard lock(shared.mutex);
    input_over = stopped || (shared.closed && shared.queue.empty());
  }
  if (count > 0) {
    shared.room.notify_all();
    std::memcpy(m.data() + 1, &count, sizeof count);
    p.outstanding += count;
    p.request_pending = false;
    send(r, detail::tag_stream_down, std::move(m));
    return true;
  }
  if ((input_over || stopped) && p.outstanding == 0) {
    p.request_pending = false;
    p.ended = true;
    send(r, detail::tag_stream_down, std::string(1, 'E'));
    return true;
  }
  return false;
}

void item_stream::state::progress_other() {
  std::vector<item> done;
  std::string bytes;
  for (;;) {
    bool stop_asked = false;
    std::uint64_t code = 0;
    bool progressed = take_local(done, stop_asked, code);
    if (stop_asked && !got_end) stop_here(code, true);
    if (!done.empty()) {
      std::string m(1, 'C');
      put_u64(m, done.size());
      const auto now = std::chrono::steady_clock::now();
      for (auto& [index, result] : done) {
        put_item(m, index, result);
        if (auto it = started.find(index); it != started.end()) {
          const auto took = now - it->second;
          average_run = average_run == average_run.zero() ? took : (3 * average_run + took) / 4;
          started.erase(it);
        }
      }
      running -= done.size();
      done.clear();
      send(0, detail::tag_stream_up, std::move(m));
    }
    int from = 0;
    while (!got_end && receive(0, detail::tag_stream_down, bytes, from)) {
      progressed = true;
      std::size_t at = 1;
      switch (bytes.at(0)) {
        case 'G': {
          request_out = false;
          const std::uint64_t count = get_u64(bytes, at);
          if (stopped) {  // granted before rank 0 learned of the stop: never run
            report_dropped(static_cast<std::size_t>(count));
            break;
          }
          for (std::uint64_t k = 0; k < count; ++k) held.push_back(get_item(bytes, at));
          break;
        }
        case 'S':
          stop_here(get_u64(bytes, at), false);
          break;
        case 'E':
          got_end = true;
          request_out = false;
          break;
        default:
          throw std::runtime_error("cohort::mpi::item_stream: unknown message from rank 0");
      }
    }
    while (!stopped && running < capacity && !held.empty()) {
      item it = std::move(held.front());
      held.pop_front();
      run_item(std::move(it));
      progressed = true;
    }
    // Keep the slots busy, and `capacity` items queued behind them while items are short
    // (see short_item). A stopped rank still asks (for nothing) so that rank 0 answers
    // with the end.
    const std::size_t have = held.size() + running;
    const bool queue_ahead = average_run != average_run.zero() && average_run < short_item;
    const std::size_t want = queue_ahead ? 2 * capacity : capacity;
    if (!got_end && !request_out && (stopped || have < want)) {
      std::string m(1, 'R');
      put_u64(m, stopped ? 0 : want - have);
      send(0, detail::tag_stream_up, std::move(m));
      request_out = true;
      progressed = true;
    }
    if (got_end) {  // rank 0 ends a rank only when nothing of it is outstanding
      send(0, detail::tag_stream_up, std::string(1, 'B'));
      while (!sends.empty()) {
        reap_sends();
        if (!sends.empty()) std::this_thread::sleep_for(pause.next(backoff::ending_max));
      }
      return;
    }
    reap_sends();
    if (progressed) pause.reset();
    sleep();
  }
}

item_stream::item_stream(std::size_t capacity, handlers h)
    : state_(std::make_unique<state>(capacity, std::move(h))) {
  if (!state_->h.run)
    throw std::invalid_argument("cohort::mpi::item_stream: the run handler is required");
  state_->me = mpi::rank();
  state_->ranks = mpi::size();
  if (state_->me == 0 && !state_->h.finished)
    throw std::invalid_argument("cohort::mpi::item_stream: rank 0 needs the finished handler");
  // Every rank runs the same command line, so every rank's capacity is about this one.
  state_->bound = 2 * state_->capacity * static_cast<std::size_t>(state_->ranks);
}

item_stream::~item_stream() = default;

bool item_stream::push(std::string bytes) {
  state& s = *state_;
  if (s.me != 0) throw std::logic_error("cohort::mpi::item_stream::push: only on rank 0");
  {
    std::unique_lock lock(s.shared.mutex);
    s.shared.room.wait(lock, [&] { return s.shared.refuse || s.shared.queue.size() < s.bound; });
    if (s.shared.refuse) return false;
    s.shared.queue.emplace_back(s.shared.pushed++, std::move(bytes));
    s.shared.event = true;
  }
  s.shared.wake.notify_one();
  return true;
}

void item_stream::close() {
  state& s = *state_;
  {
    std::lock_guard lock(s.shared.mutex);
    s.shared.closed = true;
    s.shared.refuse = true;
    s.shared.event = true;
  }
  s.shared.room.notify_all();
  s.shared.wake.notify_one();
}

std::uint64_t item_stream::close_and_drop() {
  state& s = *state_;
  std::uint64_t n = 0;
  {
    std::lock_guard lock(s.shared.mutex);
    n = s.shared.queue.size();
    s.shared.dropped += n;
    s.shared.queue.clear();
    s.shared.closed = true;
    s.shared.refuse = true;
    s.shared.event = true;
  }
  s.shared.room.notify_all();
  s.shared.wake.notify_one();
  return n;
}

void item_stream::complete(std::uint64_t index, std::string result) {
  state& s = *state_;
  {
    std::lock_guard lock(s.shared.mutex);
    s.shared.completed.emplace_back(index, std::move(result));
    s.shared.event = true;
  }
  // The progress thread waits for every handed-out item to be completed, so `s` outlives
  // this notify.
  s.shared.wake.notify_one();
}

void item_stream::stop(std::uint64_t code) {
  state& s = *state_;
  {
    std::lock_guard lock(s.shared.mutex);
    if (!s.shared.stop_requested) s.shared.stop_code = code;
    s.shared.stop_requested = true;
    s.shared.refuse = true;
    s.shared.event = true;
  }
  s.shared.room.notify_all();
  s.shared.wake.notify_one();
}

void item_stream::run() {
  detail::collective_guard guard("cohort::mpi::item_stream");
  state& s = *state_;
  s.comm = guard.comm();
  s.peers.assign(static_cast<std::size_t>(s.ranks), {});
  if (s.me == 0)
    s.progress_rank0();
  else
    s.progress_other();
}

std::uint64_t item_stream::dropped() const {
  std::lock_guard lock(state_->shared.mutex);
  return state_->shared.dropped;
}

}  // namespace cohort::mpi
