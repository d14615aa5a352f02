//! A very small eBPF assembler: the instructions a `BPF_PROG_TYPE_CGROUP_DEVICE` filter
//! needs, encoded as the kernel's `struct bpf_insn` (8 bytes each).

/// One instruction: opcode, destination and source registers, offset, immediate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcode = class | op | source, from linux/bpf_common.h and linux/bpf.h.
const LDX_MEM_W: u8 = 0x01 | 0x60; // BPF_LDX | BPF_MEM | BPF_W (BPF_W is 0)
const ALU64_AND_K: u8 = 0x07 | 0x50; // BPF_ALU64 | BPF_AND | BPF_K
const ALU64_RSH_K: u8 = 0x07 | 0x70;
const ALU64_MOV_K: u8 = 0x07 | 0xb0;
const ALU64_MOV_X: u8 = 0x07 | 0xb0 | 0x08;
// 32-bit compares: device numbers are u32 and must not be sign-extended.
const JMP32_JNE_K: u8 = 0x06 | 0x50;
const JMP32_JEQ_K: u8 = 0x06 | 0x10;
const JMP_EXIT: u8 = 0x05 | 0x90;

impl Insn {
    /// The kernel's layout on a little-endian machine: code, dst:4 | src:4, off, imm.
    pub fn encode(&self) -> u64 {
        u64::from(self.code)
            | u64::from((self.dst & 0xf) | (self.src << 4)) << 8
            | u64::from(self.off as u16) << 16
            | u64::from(self.imm as u32) << 32
    }
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// dst = *(u32 *)(src + off)
pub fn load_u32(dst: u8, src: u8, off: i16) -> Insn {
    insn(LDX_MEM_W, dst, src, off, 0)
}
pub fn and(dst: u8, imm: i32) -> Insn {
    insn(ALU64_AND_K, dst, 0, 0, imm)
}
pub fn rsh(dst: u8, imm: i32) -> Insn {
    insn(ALU64_RSH_K, dst, 0, 0, imm)
}
pub fn mov(dst: u8, imm: i32) -> Insn {
    insn(ALU64_MOV_K, dst, 0, 0, imm)
}
pub fn mov_reg(dst: u8, src: u8) -> Insn {
    insn(ALU64_MOV_X, dst, src, 0, 0)
}
/// if (u32)dst != imm: skip `off` instructions
pub fn jne(dst: u8, imm: u32, off: i16) -> Insn {
    insn(JMP32_JNE_K, dst, 0, off, imm as i32)
}
/// if (u32)dst == imm: skip `off` instructions
pub fn jeq(dst: u8, imm: u32, off: i16) -> Insn {
    insn(JMP32_JEQ_K, dst, 0, off, imm as i32)
}
pub fn exit() -> Insn {
    insn(JMP_EXIT, 0, 0, 0, 0)
}

/// A run of instructions whose forward jumps all go to the end of the run: the shape of
/// one rule ("if any check fails, try the next rule").
#[derive(Default)]
pub struct Block {
    insns: Vec<Insn>,
    /// Indexes of jumps to patch with the distance to the end.
    to_end: Vec<usize>,
}

impl Block {
    pub fn push(&mut self, i: Insn) {
        self.insns.push(i);
    }
    /// A conditional jump that leaves the block.
    pub fn push_skip(&mut self, i: Insn) {
        self.to_end.push(self.insns.len());
        self.insns.push(i);
    }
    pub fn finish(mut self) -> Vec<Insn> {
        let n = self.insns.len();
        for i in self.to_end {
            self.insns[i].off = (n - i - 1) as i16;
        }
        self.insns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_the_kernel() {
        // r2 = *(u32 *)(r1 + 4)  →  61 12 04 00 00 00 00 00
        assert_eq!(
            load_u32(2, 1, 4).encode().to_le_bytes(),
            [0x61, 0x12, 4, 0, 0, 0, 0, 0]
        );
        // r0 = 1 ; exit
        assert_eq!(
            mov(0, 1).encode().to_le_bytes(),
            [0xb7, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(exit().encode(), 0x95);
        // if w4 != 0xffffffff goto +3: the immediate keeps all 32 bits.
        assert_eq!(
            jne(4, u32::MAX, 3).encode().to_le_bytes(),
            [0x56, 4, 3, 0, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn block_jumps_land_after_the_block() {
        let mut b = Block::default();
        b.push_skip(jne(2, 1, 0));
        b.push_skip(jne(4, 8, 0));
        b.push(mov(0, 1));
        b.push(exit());
        let v = b.finish();
        assert_eq!(v[0].off, 3);
        assert_eq!(v[1].off, 2);
    }
}
