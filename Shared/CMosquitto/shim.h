// libmosquitto (MQTT 5.0 / 3.1.1 client) from Debian's libmosquitto-dev.
#include <mosquitto.h>
#include <mqtt_protocol.h>
