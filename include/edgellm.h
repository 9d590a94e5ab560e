/* The C API moved to include/edgellm/edgellm.h (the installed path); this forwards to it for in-tree code written
 * against the old path. Not installed: integrators include <edgellm/edgellm.h>. */
#include "edgellm/edgellm.h"
