package initrd

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// moduleSigString ends a module that carries an appended signature
// (MODULE_SIG_STRING in include/linux/module_signature.h).
const moduleSigString = "~Module signature appended~\n"

// moduleSigInfoSize is sizeof(struct module_signature): algo, hash,
// id_type, signer_len, key_id_len (one byte each), three bytes of padding
// and the big-endian 32-bit sig_len.
const moduleSigInfoSize = 12

// stripSignature removes a module's appended signature. The signed layout
// is, from the end: the magic string, struct module_signature, and before
// it the signature data (sig_len bytes) preceded by the signer's name and
// key identifier (signer_len and key_id_len bytes, zero for the PKCS#7
// signatures kernels have made since 4.3). It reports whether there was a
// signature; a module without one is returned unchanged.
//
// An unsigned module taints the kernel on load, and a kernel that enforces
// signatures (CONFIG_MODULE_SIG_FORCE, module.sig_enforce=1, lockdown)
// refuses it. In exchange the kernel skips the verification, which under
// TCG costs tens of milliseconds a module.
func stripSignature(data []byte) ([]byte, bool, error) {
	if !bytes.HasSuffix(data, []byte(moduleSigString)) {
		return data, false, nil
	}
	end := len(data) - len(moduleSigString)
	if end < moduleSigInfoSize {
		return nil, false, errors.New("signature marker without signature information")
	}
	info := data[end-moduleSigInfoSize : end]
	signerLen, keyIDLen := int(info[3]), int(info[4])
	sigLen := binary.BigEndian.Uint32(info[8:12])
	total := uint64(moduleSigInfoSize) + uint64(sigLen) + uint64(signerLen) + uint64(keyIDLen)
	if total > uint64(end) {
		return nil, false, errors.New("appended signature longer than the module")
	}
	return data[:uint64(end)-total], true, nil
}
