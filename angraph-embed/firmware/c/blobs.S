/* The firmware fixtures, embedded in flash (.rodata) for the C firmware example. */
    .section .rodata.angraph_fixtures, "a"
    .balign 4
    .global latency_angq, latency_angq_end, stream_angs, stream_angs_end
latency_angq:
    .incbin "latency.angq"
latency_angq_end:
    .balign 4
stream_angs:
    .incbin "stream.angs"
stream_angs_end:
