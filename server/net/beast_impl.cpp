// The one translation unit that compiles Boost.Beast for the build.
#include <boost/beast/src.hpp>
