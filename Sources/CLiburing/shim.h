#ifndef GATEWAY_CLIBURING_SHIM_H
#define GATEWAY_CLIBURING_SHIM_H
#include <liburing.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#endif
