/* placeholder: replaced by the core implementation */
#include "core/err.h"
