/* Corpus replay driver: links with a libFuzzer harness (LLVMFuzzerTestOneInput)
 * so that every corpus file is run through it in the normal `make check`,
 * under whatever sanitizers the build uses. Usage: replay [dir|file]...;
 * without arguments it replays CORPUS_DIR, set at compile time. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "replay: cannot open %s\n", path);
		return -1;
	}
	uint8_t *data = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			uint8_t *n = realloc(data, cap);
			if (!n) {
				free(data);
				fclose(f);
				return -1;
			}
			data = n;
		}
		size_t got = fread(data + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	free(data);
	return 0;
}

static int replay_path(const char *path, int *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: not found\n", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char full[4096];
		snprintf(full, sizeof full, "%s/%s", path, e->d_name);
		if (replay_path(full, count) != 0)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	int count = 0, rc = 0;
	if (argc < 2) {
#ifdef CORPUS_DIR
		rc = replay_path(CORPUS_DIR, &count);
#else
		fprintf(stderr, "usage: %s corpus-dir-or-file...\n", argv[0]);
		return 2;
#endif
	}
	for (int i = 1; i < argc; i++)
		if (replay_path(argv[i], &count) != 0)
			rc = -1;
	printf("%s: replayed %d inputs\n", argv[0], count);
	return rc == 0 ? 0 : 1;
}
