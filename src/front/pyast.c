/* pyast.c - (stub) */
#include "front.h"
