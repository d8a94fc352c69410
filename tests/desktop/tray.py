"""A tray host for the desktop tests, over the session D-Bus.

Desktop trays on Linux talk to applications through two D-Bus protocols: the
StatusNotifierWatcher, where an application registers its tray item, and the item's
`com.canonical.dbusmenu` menu, which the tray draws and sends clicks to. This script plays the
tray's part, so a test sees what a user's tray would show and clicks what a user would click:

    tray.py watch FILE         own org.kde.StatusNotifierWatcher; append "SENDER PATH" to FILE
                               for each item that registers (runs until killed)
    tray.py show FILE          print the item as JSON: its label (the text next to the icon),
                               icon, status and menu (each entry's label, enabled, checked)
    tray.py click FILE LABEL   click the menu entry whose label starts with LABEL

Needs the `dbus-next` package (tests/peers/requirements.txt).
"""

import asyncio
import json
import sys
import time

from dbus_next import Message, MessageType, Variant
from dbus_next.aio import MessageBus

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"


async def watch(path):
    bus = await MessageBus().connect()
    items = []

    def props():
        return {
            "RegisteredStatusNotifierItems": Variant("as", items),
            "IsStatusNotifierHostRegistered": Variant("b", True),
            "ProtocolVersion": Variant("i", 0),
        }

    def handler(msg):
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        if msg.member == "RegisterStatusNotifierItem":
            service = msg.body[0]
            # An item gives its object path (its bus name is the sender) or its bus name.
            where = f"{msg.sender} {service}" if service.startswith("/") else f"{service} /StatusNotifierItem"
            items.append(where)
            with open(path, "a") as f:
                f.write(where + "\n")
            bus.send(Message(destination=msg.sender, path="/StatusNotifierWatcher", interface=WATCHER,
                             member="StatusNotifierItemRegistered", message_type=MessageType.SIGNAL,
                             signature="s", body=[service]))
            return Message.new_method_return(msg)
        if msg.member == "RegisterStatusNotifierHost":
            return Message.new_method_return(msg)
        if msg.interface == "org.freedesktop.DBus.Properties" and msg.member == "GetAll":
            return Message.new_method_return(msg, "a{sv}", [props()])
        if msg.interface == "org.freedesktop.DBus.Properties" and msg.member == "Get":
            value = props().get(msg.body[1])
            if value is not None:
                return Message.new_method_return(msg, "v", [value])
        if msg.member == "Introspect":
            return Message.new_method_return(msg, "s", ["<node/>"])
        return Message.new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", msg.member or "")

    bus.add_message_handler(handler)
    await bus.request_name(WATCHER)
    # The host's own name too, as real trays have one.
    await bus.request_name("org.kde.StatusNotifierHost-mcpfw-test")
    await bus.wait_for_disconnect()


async def call(bus, dest, path, interface, member, signature="", body=()):
    reply = await bus.call(Message(destination=dest, path=path, interface=interface, member=member,
                                   signature=signature, body=list(body)))
    if reply.message_type == MessageType.ERROR:
        raise RuntimeError(f"{interface}.{member}: {reply.error_name} {reply.body}")
    return reply.body


def item_of(path):
    lines = [line.split() for line in open(path).read().splitlines() if line.strip()]
    if not lines:
        raise SystemExit("no tray item has registered")
    return lines[-1]


def menu_entries(node):
    ident, props, children = node
    entries = []
    for child in children:
        cid, cprops, grandchildren = child.value
        if cprops.get("type", Variant("s", "")).value == "separator":
            continue
        entry = {
            "id": cid,
            "label": cprops.get("label", Variant("s", "")).value.replace("_", ""),
            "enabled": cprops.get("enabled", Variant("b", True)).value,
            "visible": cprops.get("visible", Variant("b", True)).value,
        }
        if "toggle-state" in cprops:
            entry["checked"] = cprops["toggle-state"].value == 1
        if grandchildren:
            entry["children"] = menu_entries(child.value)
        entries.append(entry)
    return entries


async def describe(bus, sender, path):
    (props,) = await call(bus, sender, path, "org.freedesktop.DBus.Properties", "GetAll", "s", [ITEM])
    get = lambda name, default="": props[name].value if name in props else default
    menu_path = get("Menu", "/MenuBar")
    # Let the application fill submenus, as a tray does before it shows a menu.
    try:
        await call(bus, sender, menu_path, MENU, "AboutToShow", "i", [0])
    except RuntimeError:
        pass
    _, layout = await call(bus, sender, menu_path, MENU, "GetLayout", "iias", [0, -1, []])
    return {
        "label": get("XAyatanaLabel"),
        "title": get("Title"),
        "status": get("Status"),
        "icon": get("IconName"),
        "menu_path": menu_path,
        "menu": menu_entries(layout),
    }


def find(entries, label):
    for entry in entries:
        if entry["label"].startswith(label):
            return entry
        found = find(entry.get("children", []), label)
        if found:
            return found
    return None


async def show(path):
    bus = await MessageBus().connect()
    sender, obj = item_of(path)
    print(json.dumps(await describe(bus, sender, obj)))


async def click(path, label):
    bus = await MessageBus().connect()
    sender, obj = item_of(path)
    item = await describe(bus, sender, obj)
    entry = find(item["menu"], label)
    if entry is None:
        raise SystemExit(f"no menu entry starts with {label!r}: {json.dumps(item['menu'])}")
    if not entry["enabled"]:
        raise SystemExit(f"the menu entry {entry['label']!r} is disabled")
    await call(bus, sender, item["menu_path"], MENU, "Event", "isvu",
               [entry["id"], "clicked", Variant("i", 0), int(time.time())])
    print(entry["label"])


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "watch":
        asyncio.run(watch(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "show":
        asyncio.run(show(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "click":
        asyncio.run(click(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
