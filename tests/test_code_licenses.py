"""License detection (SPDX ids from license texts) and the language table."""
from __future__ import annotations

import os

import pytest

from telecom_etl.extractors.coderepo import licenses
from telecom_etl.extractors.coderepo.languages import detect_language, shebang_language

COMMON = "/usr/share/common-licenses"  # Debian ships the full license texts here


@pytest.mark.parametrize("name, spdx", [
    ("GPL-2", "GPL-2.0-only"), ("GPL-3", "GPL-3.0-only"), ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-3", "LGPL-3.0-only"), ("Apache-2.0", "Apache-2.0"), ("MPL-2.0", "MPL-2.0"), ("BSD", "BSD-3-Clause"),
    ("CC0-1.0", "CC0-1.0"), ("MPL-1.1", "MPL-1.1"),
])
def test_full_license_texts(name, spdx):
    path = os.path.join(COMMON, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not installed (Debian base-files)")
    with open(path, encoding="utf-8", errors="replace") as fh:
        assert licenses.identify(fh.read()) == spdx


def test_installed_packages_license_files_match_their_declared_expression():
    """Every dist-info license file of this environment whose package declares one simple id."""
    import glob
    import re

    site = os.path.dirname(os.path.dirname(pytest.__file__))
    checked = mismatched = 0
    for meta in sorted(glob.glob(os.path.join(site, "*.dist-info", "METADATA"))):
        with open(meta, encoding="utf-8", errors="replace") as fh:
            m = re.search(r"^License-Expression:\s*([A-Za-z0-9.\-]+)\s*$", fh.read().split("\n\n")[0], re.M)
        if not m:
            continue
        expr, found = licenses.detect_in_folder(os.path.join(os.path.dirname(meta), "licenses"))
        if expr is None:
            continue
        checked += 1
        mismatched += expr != m.group(1)
    if checked < 5:
        pytest.skip("too few packages declare a License-Expression here")
    # measured here: 62 of 62 exact
    assert mismatched == 0, f"{mismatched} of {checked} license files misread"


GPL_NOTICE = ("This program is free software: you can redistribute it and/or modify it under the terms of the "
              "GNU Affero General Public License as published by the Free Software Foundation, either version 3 "
              "of the License, or (at your option) any later version.")


def test_notices_and_short_statements():
    assert licenses.identify(GPL_NOTICE) == "AGPL-3.0-or-later"
    assert licenses.identify(GPL_NOTICE.replace("Affero ", "").replace(
        ", or (at your option) any later version", "")) == "GPL-3.0-only"
    assert licenses.identify("Licensed under the Apache License, Version 2.0 (the \"License\");") == "Apache-2.0"
    assert licenses.identify("Dual Licensed - GNU AFFERO GPL 3.0 or Artifex Commercial License") == "AGPL-3.0-only"
    assert licenses.identify("MIT License\n\nCopyright (c) 2024 Someone\n") == "MIT"
    assert licenses.identify("Proprietary. All rights reserved.") is None
    oai = ("OAI Public License\nVersion 1.1\n... the OpenAirInterface Software Alliance (OSA) ... "
           "Licensed under the OAI Public License, Version 1.1")
    assert licenses.identify(oai) == "LicenseRef-OAI-PL-1.1"


def test_spdx_headers():
    assert licenses.spdx_header("/* SPDX-License-Identifier: GPL-2.0-or-later */\nint x;") == "GPL-2.0-or-later"
    assert licenses.spdx_header("# SPDX-License-Identifier: (Apache-2.0 OR MIT)\n") == "(Apache-2.0 OR MIT)"
    assert licenses.spdx_header("<!-- SPDX-License-Identifier: CC-BY-4.0 -->") == "CC-BY-4.0"
    assert licenses.spdx_header("x = 1\n" * 40 + "# SPDX-License-Identifier: MIT\n") is None
    assert licenses.spdx_header("// SPDX-License-Identifier: <insert here>\n") is None


def test_several_license_files_combine(tmp_path):
    def folder(name, files):
        d = tmp_path / name
        d.mkdir()
        for fname, text in files.items():
            (d / fname).write_text(text)
        return str(d)

    mit = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software"
    apache = "Apache License\nVersion 2.0, January 2004\nTERMS AND CONDITIONS"
    gpl3 = "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"
    lgpl3 = "GNU LESSER GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n"
    assert licenses.detect_license(folder("rust", {"LICENSE-MIT": mit, "LICENSE-APACHE": apache}))[0] == "Apache-2.0 OR MIT"
    mpl = "Mozilla Public License Version 2.0\n"
    assert licenses.detect_license(folder("orjson", {"LICENSE-MIT": mit, "LICENSE-APACHE": apache,
                                                     "LICENSE-MPL-2.0": mpl}))[0] == "(Apache-2.0 OR MIT) AND MPL-2.0"
    assert licenses.detect_license(folder("lgpl", {"COPYING": gpl3, "COPYING.LESSER": lgpl3}))[0] == "LGPL-3.0-only"
    # without the LICENSE-<name> convention two licenses are both in force (the safe reading)
    assert licenses.detect_license(folder("both", {"LICENSE": mit, "LICENSE.apache.md": apache}))[0] == "Apache-2.0 AND MIT"
    assert licenses.detect_license(folder("and", {"LICENSE": mit, "COPYING": gpl3}))[0] == "GPL-3.0-only AND MIT"
    assert licenses.detect_license(folder("none", {"README": "hello"})) == (None, "")
    # a sub-folder of a tree finds the license of the tree it is in (up to the stop folder)
    top = folder("top", {"LICENSE.md": "# MIT License\n\n" + mit})
    os.makedirs(os.path.join(top, "lib", "phy"))
    assert licenses.detect_license(os.path.join(top, "lib", "phy"), stop_at=top) == ("MIT", "../../LICENSE.md")
    assert licenses.detect_license(os.path.join(top, "lib", "phy"))[0] is None


@pytest.mark.parametrize("path, text, language", [
    ("rrc/NR-RRC-Definitions.asn1", "", "ASN.1"), ("mibs/IF-MIB.my", "", "SMI"), ("ts/ATS_5G.ttcn", "", "TTCN-3"),
    ("yang/o-ran-uplane-conf.yang", "", "YANG"), ("p4/upf.p4", "", "P4"), ("sim/Network.ned", "", "OMNeT++ NED"),
    ("gr/rx.grc", "", "GNU Radio Companion"), ("hdl/ldpc_dec.vhd", "", "VHDL"), ("hdl/polar.sv", "", "SystemVerilog"),
    ("dsp/ofdm.m", "function y = f(x)\n% comment\nend\n", "MATLAB"),
    ("ios/AppDelegate.m", "#import <UIKit/UIKit.h>\n@interface AppDelegate\n@end\n", "Objective-C"),
    ("diameter/diameter_app.erl", "", "Erlang"), ("dissectors/gtp.lua", "", "Lua"), ("CMakeLists.txt", "", "CMake"),
    ("lib/Makefile.am", "", "Makefile"), ("config.h.in", "", "C"), ("Dockerfile.ubuntu", "", "Dockerfile"),
    ("scripts/build", "#!/bin/bash\nset -e\n", "Shell"), ("tools/x", "#!/usr/bin/env -S python3.11 -u\n", "Python"),
    ("sim/run", "#!/usr/bin/tclsh\n", "Tcl"), ("include/srsran/phy.h", "namespace srsran {\nclass Phy;\n}\n", "C++"),
    ("include/crc.h", "#ifndef CRC_H\nint crc(void);\n#endif\n", "C"), ("notes.xyz", "", None),
    ("LICENSE", "", None), ("nb/sim.ipynb", "", "Jupyter Notebook"), ("cfg/amf.yaml", "", "YAML"),
])
def test_language_table(path, text, language):
    assert detect_language(path, text) == language


def test_shebang():
    assert shebang_language("#!/usr/bin/env escript\n") == "Erlang"
    assert shebang_language("#!/usr/bin/octave -qf\n") == "MATLAB"
    assert shebang_language("#!/usr/bin/env\n") is None
    assert shebang_language("int main;") is None
