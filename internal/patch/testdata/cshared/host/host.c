// host loads the c-shared library built from main.go and runs its probe.
#include <stdio.h>
#include "probe.h"

int main(void) {
	char *err = PatchProbe();
	if (err != NULL) {
		fprintf(stderr, "host: %s\n", err);
		return 1;
	}
	printf("ok: the c-shared library patched its own call site\n");
	return 0;
}
