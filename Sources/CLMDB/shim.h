#ifndef EDGEAUTH_CLMDB_SHIM_H
#define EDGEAUTH_CLMDB_SHIM_H
#include <lmdb.h>
#endif
