/*
 * recording.h - the `$app.looptrace:record` LTTng-UST application context (recording.c).
 */
#ifndef LT_PROBES_RECORDING_H
#define LT_PROBES_RECORDING_H

/*
 * lt__recording_register - when LOOPTRACE_RECORD_ID holds a positive number, registers the
 * application context `$app.looptrace:record` answering it (the filter of `looptrace record`
 * keeps this process's events). Call once from a constructor; never fails (a second copy's
 * registration is refused by LTTng-UST and ignored).
 */
__attribute__((visibility("hidden"))) void lt__recording_register(void);

#endif
