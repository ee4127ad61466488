/* wire_fuzz.c: libFuzzer target for wire_load, the gate every CBOR input
 * from a peer or a file passes first. */
#include <stddef.h>
#include <stdint.h>

#include "base/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cbor_item_t *item;

	if (wire_load(data, size, &item) == 0)
		cbor_decref(&item);
	return 0;
}
