// The one translation unit that compiles Boost.Asio, Boost.Asio SSL and
// Boost.Beast (separate compilation), so that editing a handler rebuilds fast.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
