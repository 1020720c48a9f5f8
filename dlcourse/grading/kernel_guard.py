"""The grading guard's kernel side: runs inside the student's (jailed) kernel, never in the grader.

dlcourse.grading.guard's first cell loads this file by path (``runpy.run_path``, the file bound read-only into
the jail) and calls :func:`install` before any of the submission's cells run. ``install`` takes a
snapshot of what tests compare with (builtins, math, operator, torch, numpy and their testing
modules, ``sys``'s hooks, every IPython/ipykernel object reachable from the shell and the kernel)
and registers a module ``_dlcourse_guard`` whose

- ``report(nonce)`` (run before every test cell) stops threads the submission started, puts back
  whatever was replaced, removes globals that hide a built-in or rebind torch/np/math, asks for
  the next cell's source (the test cell's) to stay out of linecache, and prints one line per item
  and then ``[grader restore {nonce} done]``;
- ``release(names)`` (run after a cell that ran out of memory) deletes those globals and collects.

Everything here runs in the submission's own Python process: it raises the cost of tampering, it
does not make tampering impossible (see dlcourse.grading.guard and the README). Names of builtins are bound
once at install time, so that later changes to builtins cannot alter what the guard does. Nothing
runs at import: the module only defines functions, so it can be imported and tested outside a kernel.
"""


def snapshot_shell(*roots):
    """A function that puts back the state of IPython's shell and ipykernel's kernel as it is now,
    and returns what it changed. Not a list of known hooks: every object reachable from ``roots``
    through attributes (trait values included) whose values are IPython/ipykernel/jupyter_client
    objects (events, formatters, display hooks, the session, ...) is covered, and so are the
    methods of their classes. Put back: attributes whose old or new value is callable (a method
    shadowed by an instance attribute such as ``run_cell``, a replaced hook or handler) or is such
    an object; callables added as instance or class attributes are deleted; lists, tuples and
    dicts of callables (input and AST transformers, event callbacks, message handlers, custom
    exceptions) get back the elements they lost and lose those defined by the notebook's code
    (elements a library adds later, such as matplotlib's inline callbacks, are kept). Plain data
    (counters, the user's namespace, the current message) is left alone."""
    import functools, sys, types
    from traitlets import HasTraits
    PACKAGES = ("IPython.", "ipykernel.", "jupyter_client.", "comm.", "matplotlib_inline.")
    DATA = {"user_ns", "user_global_ns", "user_ns_hidden", "_main_mod_cache", "user_module", "ns_table", "db",
            "_user_ns", "_trait_values", "_trait_notifiers", "_trait_validators", "_cross_validation_lock",
            "history_manager"}
    getattr_, setattr_, delattr_, vars_, isinstance_, callable_ = getattr, setattr, delattr, vars, isinstance, callable
    list_, dict_, tuple_, type_, id_, all_, any_ = list, dict, tuple, type, id, all, any
    missing = object()

    def same(a, b):
        """The same callable: the same object, the same method of the same object, or a library's
        closure made again from the same code (IPython rebinds some per cell)."""
        if a is b:
            return True
        if type_(a) is types.MethodType and type_(b) is types.MethodType:
            return a.__func__ is b.__func__ and a.__self__ is b.__self__
        return (type_(a) is types.FunctionType and type_(b) is types.FunctionType and a.__code__ is b.__code__
                and not student_made(a) and not student_made(b))

    def component(value):
        return ours(value) and isinstance_(value, HasTraits)

    def ours(value):
        module = getattr_(type_(value), "__module__", "") or ""
        return not isinstance_(value, type_) and (module + ".").startswith(PACKAGES)

    def student_made(value, depth=0):
        if depth > 3:
            return True
        if getattr_(value, "__module__", None) == "__main__" or getattr_(type_(value), "__module__", None) == "__main__":
            return True
        if isinstance_(value, functools.partial):
            return any_(student_made(v, depth + 1) for v in (value.func, *value.args, *value.keywords.values()))
        if type_(value) is types.MethodType:
            return student_made(value.__func__, depth + 1) or student_made(value.__self__, depth + 1)
        code = getattr_(value, "__code__", None)
        return code is not None and code.co_filename.startswith(cell_files)

    def callables(value):
        if isinstance_(value, (list_, tuple_)):
            return all_(callable_(v) for v in value)
        if isinstance_(value, dict_):
            return bool(value) and all_(callable_(v) or isinstance_(v, list_) for v in value.values())
        return False

    def copy(value):
        return {k: (v, list_(v) if isinstance_(v, list_) else None) for k, v in value.items()} \
            if isinstance_(value, dict_) else list_(value)

    def merged(old, now):
        """``old``'s elements, then those added since that the notebook's code did not make;
        None when nothing needs putting back."""
        lost = [v for v in old if not any_(same(v, n) for n in now)]
        planted = [n for n in now if not any_(same(n, v) for v in old) and student_made(n)]
        if not lost and not planted:
            return None
        return list_(old) + [n for n in now if not any_(same(n, v) for v in old) and not student_made(n)]

    def namespace(mapping):
        saved = {n: v for n, v in mapping.items() if n not in DATA}
        return saved, {n: copy(v) for n, v in saved.items() if callables(v) and not isinstance_(v, tuple_)}

    objects, classes, queue, seen = [], [], [r for r in roots if r is not None], set()
    while queue:
        obj = queue.pop()
        if id_(obj) in seen:
            continue
        seen.add(id_(obj))
        try:
            spaces = [vars_(obj)]
        except TypeError:
            continue
        if isinstance_(getattr_(obj, "_trait_values", None), dict_):
            spaces.append(obj._trait_values)
        for space in spaces:
            saved, inner = namespace(space)
            objects.append((obj, space, saved, inner, space is not spaces[0]))
            queue += [v for v in saved.values() if ours(v)]
        for cls in type_(obj).__mro__:
            if id_(cls) not in seen and (getattr_(cls, "__module__", "") + ".").startswith(PACKAGES):
                seen.add(id_(cls))
                classes.append((cls, {n: v for n, v in vars_(cls).items() if callable_(v) or isinstance_(v, (staticmethod, classmethod))}))

    def name_of(obj):
        return getattr_(obj, "__name__", None) or type_(obj).__name__

    def restore_container(value, old):
        """Puts back a list or dict of callables in place; True if it had to."""
        if isinstance_(value, list_):
            fixed = merged(old, value)
            if fixed is not None:
                value[:] = fixed
            return fixed is not None
        changed = False
        for key, (v, items) in old.items():
            now = value.get(key, missing)
            if items is not None and isinstance_(now, list_):
                fixed = merged(items, now)
                if fixed is not None or now is not v:
                    v[:] = fixed if fixed is not None else now
                    value[key] = v
                    changed = True
            elif now is missing or (not same(now, v) and student_made(now)):  # libraries fill some lazily
                value[key] = v
                changed = True
        for key in [k for k, v in value.items() if k not in old and student_made(v)]:
            del value[key]
            changed = True
        return changed

    def restore():
        changed = []
        for obj, space, saved, inner, traits in objects:
            # trait values appear when first read (defaults): only the notebook's own are removed
            for name in [n for n, v in space.items() if n not in saved and n not in DATA and callable_(v)
                         and (student_made(v) or not traits)]:
                del space[name]
                changed.append(f"{name_of(obj)}.{name} (added)")
            # a list or dict of callables that appeared since (a trait first read after the
            # snapshot, such as input_transformers_post outside a kernel) loses the notebook's own
            for name in [n for n, v in space.items() if n not in saved and n not in DATA and not callable_(v)
                         and callables(v) and not isinstance_(v, tuple_)]:
                if restore_container(space[name], [] if isinstance_(space[name], list_) else {}):
                    changed.append(f"{name_of(obj)}.{name}")
            for name, value in saved.items():
                now = space.get(name, missing)
                if not same(now, value) and (callable_(value) or callable_(now) or component(value) or name in inner
                                             or (isinstance_(value, tuple_) and callables(value))):
                    space[name] = value
                    changed.append(f"{name_of(obj)}.{name}")
            for name, old in inner.items():
                if space.get(name) is saved[name] and restore_container(saved[name], old):
                    changed.append(f"{name_of(obj)}.{name}")
        for cls, saved in classes:
            current = vars_(cls)
            for name in [n for n, v in current.items() if n not in saved and callable_(v)]:
                delattr_(cls, name)
                changed.append(f"{cls.__name__}.{name} (added)")
            for name, value in saved.items():
                if not same(current.get(name, missing), value):
                    setattr_(cls, name, value)
                    changed.append(f"{cls.__name__}.{name}")
        for name, value in hooks_of_sys.items():
            if not same(getattr_(sys, name), value):
                setattr_(sys, name, value)
                changed.append(f"sys.{name}")
        return list(dict.fromkeys(changed))

    try:  # ipykernel compiles each cell under a file name in a folder of its own
        import os
        from ipykernel.compiler import get_tmp_directory
        cell_files = ("<ipython-input", get_tmp_directory() + os.sep)
    except Exception:
        cell_files = ("<ipython-input",)
    hooks_of_sys = {n: getattr_(sys, n) for n in ("displayhook", "excepthook", "breakpointhook", "unraisablehook",
                                                   "stdout", "stderr")}
    return restore


def install(shell):
    """Snapshot the state tests compare with, and register ``_dlcourse_guard`` (restore, report,
    release) in ``sys.modules`` for the grader's cells to call. ``shell``: the kernel's IPython shell."""
    import builtins, math, operator, os, sys, types
    guarded = [builtins, math, operator]
    try:
        import torch, torch.testing
        guarded += [torch, torch.testing, torch.Tensor, torch.nn.functional]
    except ImportError:
        pass
    try:
        import numpy, numpy.testing
        guarded += [numpy, numpy.testing, numpy.ndarray]
    except ImportError:
        pass
    module = types.ModuleType("_dlcourse_guard")
    # ipykernel itself swaps builtins.input (and getpass) for every request
    saved = [(obj, {n: v for n, v in vars(obj).items() if not (obj is builtins and n in ("input", "raw_input"))})
             for obj in guarded]
    attributes_of_builtins = dict(vars(builtins))
    preset = {n: v for n, v in shell.user_ns.items() if n in attributes_of_builtins}
    try:  # the inline backend registers its callbacks when pyplot is imported: before the snapshot
        __import__("matplotlib.pyplot")  # imported for its side effect
    except Exception:
        pass
    # The source of a test cell (hidden tests included) stays out of linecache, where code the test
    # calls could read it (IPython caches every cell's source there for tracebacks): report() asks
    # for the next cell IPython compiles, the test cell, to be left out. Installed before the
    # snapshot, so that the snapshot puts it back if the submission removes it.
    import linecache
    compiler = shell.compile
    compile_and_cache = compiler.cache
    hide = {"next": False}

    def cache(transformed_code, number=0, raw_code=None):
        name = compile_and_cache(transformed_code, number, raw_code)
        if hide["next"]:
            hide["next"] = False
            linecache.cache.pop(name, None)
        return name

    compiler.cache = cache
    shell_state = snapshot_shell(shell, getattr(shell, "kernel", None))
    setattr_, getattr_, type_ = setattr, getattr, type
    import threading
    # library threads that lessons start lazily and that run only their library's code
    SERVICE_THREADS = {"tqdm._monitor.TMonitor", "zmq.utils.garbage.GarbageCollectorThread"}
    known_threads = set(sys._current_frames())  # the kernel's own threads (heartbeat, IOPub, control, history)
    history_manager = getattr(shell, "history_manager", None)
    history_thread = type(getattr(history_manager, "save_thread", None))  # IPython's HistorySavingThread

    def started_threads():
        """Threads started since the snapshot (by the submission's code; tqdm's monitor excepted)."""
        threads = {t.ident: t for t in threading.enumerate()}
        found = []
        for ident in sys._current_frames():
            thread = threads.get(ident)
            if ident in known_threads or ident == threading.get_ident():
                continue
            kind = f"{getattr_(type_(thread), '__module__', '')}.{type_(thread).__qualname__}"
            if thread is not None and kind in SERVICE_THREADS and getattr_(thread, "_target", None) is None:
                continue  # a library's own service thread, started lazily (a progress bar, a zero-copy send)
            if thread is not None and thread is getattr_(history_manager, "save_thread", None) \
                    and type_(thread) is history_thread and "run" not in vars(thread):
                continue  # IPython's history thread, stopped before a fork (DataLoader workers) and started anew
            if thread is None:
                name = f"thread {ident}"
            else:
                target = getattr_(thread, "_target", None) or getattr_(thread, "function", None)
                where = getattr_(target, "__module__", None) or getattr_(type_(thread), "__module__", "?")
                name = f"{thread.name} ({where}.{getattr_(target, '__qualname__', type_(thread).__qualname__)})"
            found.append((ident, name, thread))
        return found

    def stop_threads():
        """Stop every thread the submission left running (a Timer is cancelled, any other thread
        gets SystemExit raised in it); prints one line per thread: stopped, or still alive."""
        import ctypes
        found = started_threads()
        for ident, name, thread in found:
            if isinstance(thread, threading.Timer):
                thread.cancel()
            target = getattr_(thread, "_target", None)
            if getattr_(target, "__module__", None) == "concurrent.futures.thread" and \
                    getattr_(target, "__name__", None) == "_worker":
                try:  # an idle worker of a thread pool waits on its queue: None tells it to end
                    thread._args[1].put(None)
                except Exception:
                    pass
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(SystemExit))
        import time
        deadline = time.monotonic() + 1.0
        while found and time.monotonic() < deadline and started_threads():
            time.sleep(0.02)
        alive = {ident for ident, _, _ in started_threads()}
        for ident, name, _ in found:
            print(f"[grader thread {'alive' if ident in alive else 'stopped'}] {name}")

    modules = {"torch": "torch", "np": "numpy", "numpy": "numpy", "math": "math"}
    libraries = tuple(os.path.dirname(m.__file__) + os.sep for m in guarded if getattr(m, "__file__", None)
                      and os.path.basename(m.__file__) == "__init__.py")

    def from_library_module(cls):
        module = sys.modules.get(getattr_(cls, "__module__", ""), None)
        return getattr_(module, "__file__", None) is not None and module.__file__.startswith(libraries)

    def from_library(function):
        code = getattr_(function, "__code__", None)
        return code is not None and code.co_filename.startswith(libraries)

    def restore():
        changed = []
        for obj, attributes in saved:
            current = vars(obj)
            for name, value in attributes.items():
                now = current.get(name, restore)
                if now is value:
                    continue
                if (getattr_(now, "__wrapped__", None) is value and from_library(now)) or (
                        isinstance(now, type_) and isinstance(value, type_) and from_library_module(now)):
                    attributes[name] = now  # torch rebinds some of its own names when it loads parts of itself
                    continue
                try:
                    setattr_(obj, name, value)
                    changed.append(f"{getattr_(obj, '__name__', obj)}.{name}")
                except (AttributeError, TypeError):
                    pass
            if isinstance(obj, type_):  # an attribute added to a class can shadow its base's
                for name in [n for n in current if n not in attributes]:
                    try:
                        delattr(obj, name)
                        if name != "__slotnames__":  # copyreg's cache, set by pickling (torch.save) any instance
                            changed.append(f"{obj.__name__}.{name}")
                    except (AttributeError, TypeError):
                        pass
        names = shell.user_ns
        for name in [n for n in names if n in attributes_of_builtins and not n.startswith("_")]:
            if name in preset:  # IPython's own globals (exit, quit, open, ...)
                if names[name] is not preset[name]:
                    names[name] = preset[name]
                    changed.append(f"global {name}")
            elif names[name] is not attributes_of_builtins[name]:
                del names[name]
                changed.append(f"built-in {name} (shadowed by a global)")
        for name, module_name in modules.items():
            if name in names and module_name in sys.modules and names[name] is not sys.modules[module_name]:
                names[name] = sys.modules[module_name]
                changed.append(f"global {name} (not the {module_name} module)")
        changed += shell_state()
        if sys.gettrace() is not None or sys.getprofile() is not None:
            sys.settrace(None), sys.setprofile(None)
            changed.append("sys trace/profile function")
        return changed

    def report(nonce):  # one line per item, prefixed: a background process may print at the same time
        stop_threads()
        for item in restore():
            print(f"[grader restored] {item}")
        hide["next"] = True
        print(f"[grader restore {nonce} done]")

    def release(names):
        import gc
        gone = [n for n in names if n in shell.user_ns]
        for name in gone:
            del shell.user_ns[name]
        gc.collect()
        for name in gone:
            print(f"[grader freed] {name}")

    module.restore, module.report, module.release = restore, report, release
    sys.modules["_dlcourse_guard"] = module
