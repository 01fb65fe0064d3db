// Asio is compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION), instead of in
// every translation unit that uses it.
//
// Its io_uring rings are made with cooperative task running: a completion
// (a socket became readable) is handed to the shard when it next enters the
// kernel, instead of by an inter-processor interrupt that stops the shard
// wherever it is. Asio 1.81 creates the ring with no flags, so its call is
// redirected to cairn_io_uring_queue_init below. The shards enter the kernel
// whenever the ring flags task work (IORING_SETUP_TASKRUN_FLAG, which
// liburing's peek honours) and when they sleep.
#include <cerrno>

#include <liburing.h>

inline int cairn_io_uring_queue_init(unsigned entries, struct io_uring* ring, unsigned flags) {
  io_uring_params p{};
  p.flags = flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  const int r = io_uring_queue_init_params(entries, ring, &p);
  if (r != -EINVAL) return r;
  return io_uring_queue_init(entries, ring, flags);  // a kernel before 5.19 lacks the flags
}

#define io_uring_queue_init(entries, ring, flags) cairn_io_uring_queue_init(entries, ring, flags)
#include <boost/asio/impl/src.hpp>
#undef io_uring_queue_init
