// Asio's SSL support is compiled once, here (BOOST_ASIO_SEPARATE_COMPILATION;
// the rest of Asio is in src/asio_impl.cpp), with the outbound client that needs it.
#include <boost/asio/ssl/impl/src.hpp>
