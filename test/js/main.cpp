#define BOOST_TEST_MODULE cairn_js
#include <boost/test/unit_test.hpp>
