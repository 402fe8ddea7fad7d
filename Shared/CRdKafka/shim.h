// librdkafka from Debian's librdkafka-dev, including the mock cluster API used by the dev broker.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
