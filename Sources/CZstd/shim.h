#ifndef GATEWAY_CZSTD_SHIM_H
#define GATEWAY_CZSTD_SHIM_H
#include <zstd.h>
#endif
