; Baton test guest: a multiboot kernel that QEMU boots directly with -kernel (no disk, no BIOS boot).
;
; It proves a live migration carried the guest's state: a counter kept in RAM is printed to COM1 as
; "C=<n>" lines, so the destination's serial log continues where the source's stopped instead of
; restarting (a restart would print the "BATON-GUEST boot" banner again).
; It does real work while migrating: on every PIT tick it writes to P pages of a D-page region above
; 4 MiB, so the dirty rate is P * 4 KiB * hz. Between ticks it halts, so an idle guest costs no CPU.
;
; Parameters come from the multiboot command line (QEMU -append), as tokens "k=<decimal>":
;   d=<pages in the dirty region>  p=<pages dirtied per tick>  t=<ticks per counter line>  h=<tick Hz>

bits 32
org 0x100000

MB_MAGIC    equ 0x1BADB002
MB_FLAGS    equ 0x00010003          ; page-aligned modules, memory info, a.out address fields
DIRTY_BASE  equ 0x400000            ; 4 MiB: above this kernel and QEMU's multiboot info
COM1        equ 0x3f8

mb_header:
    dd MB_MAGIC
    dd MB_FLAGS
    dd -(MB_MAGIC + MB_FLAGS)
    dd mb_header                    ; header_addr
    dd mb_header                    ; load_addr
    dd load_end                     ; load_end_addr
    dd bss_end                      ; bss_end_addr
    dd start                        ; entry_addr

start:
    cli
    mov esp, stack_top
    mov [mbi], ebx
    lgdt [gdt_desc]                 ; multiboot leaves GDTR undefined: load ours before any iret
    jmp 0x08:.flat
.flat:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov fs, ax
    mov gs, ax
    call parse_cmdline
    call serial_init
    mov esi, banner
    call puts
    call idt_init
    call pic_init
    call pit_init
    sti

main_loop:
    hlt
.pending:
    mov eax, [ticks]
    cmp eax, [done_ticks]
    je main_loop
    inc dword [done_ticks]
    call dirty_pages
    dec dword [countdown]
    jnz .pending
    mov eax, [ticks_per_line]
    mov [countdown], eax
    inc dword [counter]
    call print_counter
    jmp .pending

; Writes the tick number into the next p pages of the region, wrapping around.
dirty_pages:
    mov ecx, [pages_per_tick]
    mov ebx, [dirty_total]
    test ebx, ebx
    jz .done
    mov edx, [done_ticks]
.loop:
    test ecx, ecx
    jz .done
    mov eax, [cursor]
    shl eax, 12
    mov [DIRTY_BASE + eax], edx
    mov eax, [cursor]
    inc eax
    cmp eax, ebx
    jb .keep
    xor eax, eax
.keep:
    mov [cursor], eax
    dec ecx
    jmp .loop
.done:
    ret

parse_cmdline:
    mov ebx, [mbi]
    test dword [ebx], 4             ; flags bit 2: cmdline present
    jz .done
    mov esi, [ebx + 16]
.token:
    lodsb
    test al, al
    jz .done
    cmp al, ' '
    je .token
    mov dl, al
    cmp byte [esi], '='
    jne .skip
    inc esi
    xor ecx, ecx
.digit:
    movzx eax, byte [esi]
    sub eax, '0'
    cmp eax, 9
    ja .store
    imul ecx, ecx, 10
    add ecx, eax
    inc esi
    jmp .digit
.store:
    cmp dl, 'd'
    jne .not_d
    mov [dirty_total], ecx
.not_d:
    cmp dl, 'p'
    jne .not_p
    mov [pages_per_tick], ecx
.not_p:
    cmp dl, 't'
    jne .not_t
    test ecx, ecx
    jz .not_t
    mov [ticks_per_line], ecx
    mov [countdown], ecx
.not_t:
    cmp dl, 'h'
    jne .skip
    test ecx, ecx
    jz .skip
    mov [hz], ecx
.skip:
    mov al, [esi]
    test al, al
    jz .done
    inc esi
    cmp al, ' '
    jne .skip
    jmp .token
.done:
    ret

%include "guest-io.inc"

section .data
align 8
gdt:
    dq 0
    dq 0x00CF9A000000FFFF           ; 0x08: flat 32-bit code
    dq 0x00CF92000000FFFF           ; 0x10: flat 32-bit data
gdt_desc:
    dw gdt_desc - gdt - 1
    dd gdt
idt_desc:
    dw 256 * 8 - 1
    dd idt
banner:         db "BATON-GUEST boot", 13, 10, 0
exc_msg:        db "BATON-GUEST exception", 13, 10, 0
dirty_total:    dd 0
pages_per_tick: dd 0
ticks_per_line: dd 10
countdown:      dd 10
hz:             dd 100
load_end:

section .bss
alignb 8
mbi:        resd 1
ticks:      resd 1
done_ticks: resd 1
cursor:     resd 1
counter:    resd 1
numbuf:     resb 16
idt:        resb 256 * 8
stack:      resb 4096
stack_top:
bss_end:
