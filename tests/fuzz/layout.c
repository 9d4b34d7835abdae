/* layout.c - prints where the fields of the log format are (JSON), so tests/fuzz/fuzz.py can
 * damage them on purpose: the header's counters and table entries, and each record's fields. */
#include <stddef.h>
#include <stdio.h>
#include "socklens/log.h"

#define F(type, field, sz) printf("%s[\"%s\", %zu, %zu]", first++ ? ", " : "", #field, offsetof(type, field), (size_t)(sz))
#define W(type, field) F(type, field, sizeof(((type *)0)->field))

int main(void)
{
	int first = 0;
	printf("{\"header\": [");
	W(struct sl_log_header, file_size); W(struct sl_log_header, event_first); W(struct sl_log_header, pid);
	W(struct sl_log_header, ppid); W(struct sl_log_header, seq); W(struct sl_log_header, flags);
	W(struct sl_log_header, start_mono_ns); W(struct sl_log_header, proc_start_ticks);
	W(struct sl_log_header, argv_len); W(struct sl_log_header, end_reason); W(struct sl_log_header, exit_status);
	W(struct sl_log_header, end_mono_ns); W(struct sl_log_header, slot_next); W(struct sl_log_header, event_next);
	W(struct sl_log_header, stack_next); W(struct sl_log_header, module_next); W(struct sl_log_header, lang_next);
	W(struct sl_log_header, conn_next); W(struct sl_log_header, inherited_socks); W(struct sl_log_header, pidns);
	W(struct sl_log_header, lang_why); W(struct sl_log_header, coarse_res_ns);
	for (int t = 0; t < SL_T__COUNT; t++) {
		char name[32];
		snprintf(name, sizeof name, "tab%d", t);
		printf(", [\"%s.off\", %zu, 8], [\"%s.size\", %zu, 4], [\"%s.cap\", %zu, 4], [\"%s.avail\", %zu, 4]",
		       name, offsetof(struct sl_log_header, tab) + t * sizeof(struct sl_table_hdr) + offsetof(struct sl_table_hdr, off),
		       name, offsetof(struct sl_log_header, tab) + t * sizeof(struct sl_table_hdr) + offsetof(struct sl_table_hdr, size),
		       name, offsetof(struct sl_log_header, tab) + t * sizeof(struct sl_table_hdr) + offsetof(struct sl_table_hdr, cap),
		       name, offsetof(struct sl_log_header, tab) + t * sizeof(struct sl_table_hdr) + offsetof(struct sl_table_hdr, avail));
	}
	printf("], \"header_strings\": [[\"exe\", %zu, %u], [\"comm\", %zu, %u], [\"argv\", %zu, %u]]",
	       offsetof(struct sl_log_header, exe), SL_EXE_MAX, offsetof(struct sl_log_header, comm), SL_COMM_MAX,
	       offsetof(struct sl_log_header, argv), SL_ARGV_MAX);
	first = 0;
	printf(", \"slot\": [");
	W(struct sl_slot, state); W(struct sl_slot, conn_id); W(struct sl_slot, fd); W(struct sl_slot, family);
	W(struct sl_slot, type); W(struct sl_slot, role); W(struct sl_slot, connect_state); W(struct sl_slot, tcp_state);
	W(struct sl_slot, flags); W(struct sl_slot, open_ns); W(struct sl_slot, close_ns); W(struct sl_slot, open_stack);
	W(struct sl_slot, close_stack); W(struct sl_slot, connect_stack); W(struct sl_slot, error_stack);
	W(struct sl_slot, read_site); W(struct sl_slot, local.len); W(struct sl_slot, peer.len); W(struct sl_slot, peer.family);
	W(struct sl_slot, bytes_out); W(struct sl_slot, bytes_in); W(struct sl_slot, last_out_cns); W(struct sl_slot, last_in_cns);
	W(struct sl_slot, eof_cns); W(struct sl_slot, connect_ns); W(struct sl_slot, connect_errno); W(struct sl_slot, err_no);
	W(struct sl_slot, err_count); W(struct sl_slot, opts_set); W(struct sl_slot, opt); W(struct sl_slot, tcp_rtt_us);
	W(struct sl_slot, tcp_retrans); W(struct sl_slot, eof_stack); W(struct sl_slot, send_stack);
	W(struct sl_slot, first_out); W(struct sl_slot, alert_desc);
	first = 0;
	printf("], \"slot_size\": %zu, \"event\": [", sizeof(struct sl_slot));
	W(struct sl_event, commit); W(struct sl_event, seq); W(struct sl_event, type); W(struct sl_event, call);
	W(struct sl_event, fd); W(struct sl_event, err); W(struct sl_event, ts_ns); W(struct sl_event, dur_ns);
	W(struct sl_event, conn_id); W(struct sl_event, stack); W(struct sl_event, a); W(struct sl_event, b);
	W(struct sl_event, addr.family); W(struct sl_event, addr.len);
	first = 0;
	printf("], \"event_size\": %zu, \"stack\": [", sizeof(struct sl_event));
	W(struct sl_stack, commit); W(struct sl_stack, nframes); W(struct sl_stack, next); W(struct sl_stack, lat_call);
	W(struct sl_stack, ip); W(struct sl_stack, hits); W(struct sl_stack, err_no); W(struct sl_stack, err_count);
	W(struct sl_stack, lat); W(struct sl_stack, closed); W(struct sl_stack, same_peer_short);
	first = 0;
	printf("], \"stack_size\": %zu, \"module\": [", sizeof(struct sl_stack));
	W(struct sl_module, commit); W(struct sl_module, buildid_len); W(struct sl_module, base); W(struct sl_module, lo);
	W(struct sl_module, hi); W(struct sl_module, path);
	first = 0;
	printf("], \"module_size\": %zu, \"lang\": [", sizeof(struct sl_module));
	W(struct sl_lang, commit); W(struct sl_lang, lang); W(struct sl_lang, line); W(struct sl_lang, func);
	W(struct sl_lang, file);
	first = 0;
	printf("], \"lang_size\": %zu, \"inflight\": [", sizeof(struct sl_lang));
	W(struct sl_inflight, owner); W(struct sl_inflight, call); W(struct sl_inflight, fd); W(struct sl_inflight, conn_id);
	W(struct sl_inflight, since_cns); W(struct sl_inflight, site);
	first = 0;
	printf("], \"inflight_size\": %zu, \"run\": [", sizeof(struct sl_inflight));
	W(struct sl_run_header, file_size); W(struct sl_run_header, budget); W(struct sl_run_header, used);
	W(struct sl_run_header, untraced); W(struct sl_run_header, exec_cap); W(struct sl_run_header, exec_off);
	W(struct sl_run_header, exec_next); W(struct sl_run_header, exec_avail); W(struct sl_run_header, logs_lost);
	printf("], \"tables\": %d}\n", SL_T__COUNT);
	return 0;
}
