/* runtime.c - (stub) */
#include "runtime.h"
