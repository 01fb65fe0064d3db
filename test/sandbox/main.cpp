#define BOOST_TEST_MODULE cairn_sandbox
#include <boost/test/unit_test.hpp>
