/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The domain XML of a guest, from the configuration, its flavor and its
 * plan; and reading values back out of the XML libvirt returns. */
#include "config.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "lv.h"

void lv_xml_escape(nph_buffer *out, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++) {
        switch (*p) {
        case '&': nph_buffer_append(out, "&amp;", 5); break;
        case '<': nph_buffer_append(out, "&lt;", 4); break;
        case '>': nph_buffer_append(out, "&gt;", 4); break;
        case '\'': nph_buffer_append(out, "&apos;", 6); break;
        case '"': nph_buffer_append(out, "&quot;", 6); break;
        default: /* XML has no place for control characters (a newline in a title) */
            nph_buffer_append(out, (unsigned char)*p < 0x20 ? " " : p, 1);
        }
    }
}

/* Append fmt with every %s argument escaped: the templates below hold no
 * other conversions. */
static void emit(nph_buffer *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (const char *p = fmt; *p; p++) {
        if (p[0] == '%' && p[1] == 's') {
            lv_xml_escape(out, va_arg(ap, const char *));
            p++;
        } else
            nph_buffer_append(out, p, 1);
    }
    va_end(ap);
}

static void emit_metadata(nph_buffer *out, const struct nph_instance *inst,
                          const struct nph_flavor *flavor)
{
    emit(out, "  <metadata>\n    <" LV_XMLNS_PREFIX ":instance xmlns:" LV_XMLNS_PREFIX "='%s'>\n",
         LV_XMLNS);
    emit(out, "      <" LV_XMLNS_PREFIX ":uuid>%s</" LV_XMLNS_PREFIX ":uuid>\n", inst->uuid);
    emit(out, "      <" LV_XMLNS_PREFIX ":name>%s</" LV_XMLNS_PREFIX ":name>\n",
         inst->name ? inst->name : "");
    emit(out, "      <" LV_XMLNS_PREFIX ":project id='%s'/>\n",
         inst->project_id ? inst->project_id : "");
    emit(out, "      <" LV_XMLNS_PREFIX ":user id='%s'/>\n", inst->user_id ? inst->user_id : "");
    emit(out, "      <" LV_XMLNS_PREFIX ":flavor id='%s' name='%s'/>\n",
         flavor->id ? flavor->id : "", flavor->name ? flavor->name : "");
    emit(out, "      <" LV_XMLNS_PREFIX ":image id='%s'/>\n",
         inst->image && inst->image->id ? inst->image->id : "");
    emit(out, "    </" LV_XMLNS_PREFIX ":instance>\n  </metadata>\n");
}

static void emit_os(nph_buffer *out, const struct lv_config *cfg, const struct lv_plan *p)
{
    emit(out, "  <os>\n    <type arch='x86_64' machine='%s'>hvm</type>\n", cfg->machine);
    if (p->kernel[0]) {
        emit(out, "    <kernel>%s</kernel>\n", p->kernel);
        if (p->ramdisk[0])
            emit(out, "    <initrd>%s</initrd>\n", p->ramdisk);
        emit(out, "    <cmdline>%s</cmdline>\n", p->cmdline);
    } else if (p->cdrom[0])
        emit(out, "    <boot dev='cdrom'/>\n    <boot dev='hd'/>\n");
    else
        emit(out, "    <boot dev='hd'/>\n");
    emit(out, "  </os>\n  <features>\n    <acpi/>\n    <apic/>\n  </features>\n");
    if (strcmp(cfg->cpu_mode, "none") != 0)
        emit(out, "  <cpu mode='%s'/>\n", cfg->cpu_mode);
    emit(out, "  <clock offset='utc'/>\n  <on_poweroff>destroy</on_poweroff>\n"
              "  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n");
}

static void emit_disks(nph_buffer *out, const struct lv_config *cfg, const struct lv_plan *p)
{
    if (p->disk[0])
        emit(out,
             "    <disk type='file' device='disk'>\n"
             "      <driver name='qemu' type='%s' discard='unmap'/>\n"
             "      <source file='%s'/>\n      <target dev='vda' bus='virtio'/>\n    </disk>\n",
             p->disk_format, p->disk);
    if (p->cdrom[0])
        emit(out,
             "    <disk type='file' device='cdrom'>\n      <driver name='qemu' type='raw'/>\n"
             "      <source file='%s'/>\n      <target dev='%s' bus='%s'/>\n"
             "      <readonly/>\n    </disk>\n",
             p->cdrom, strcmp(cfg->machine, "q35") == 0 ? "sda" : "hdc",
             strcmp(cfg->machine, "q35") == 0 ? "sata" : "ide");
}

static void emit_devices(nph_buffer *out, const struct lv_config *cfg, const struct lv_plan *p)
{
    emit(out, "  <devices>\n");
    emit_disks(out, cfg, p);
    if (cfg->nic == LV_NIC_USER)
        emit(out, "    <interface type='user'>\n      <model type='virtio'/>\n    </interface>\n");
    else if (cfg->nic == LV_NIC_BRIDGE)
        emit(out,
             "    <interface type='bridge'>\n      <source bridge='%s'/>\n"
             "      <model type='virtio'/>\n    </interface>\n",
             cfg->bridge);
    /* append='on': a restart (or a restore) must not truncate the log. */
    emit(out,
         "    <serial type='file'>\n      <source path='%s' append='on'/>\n"
         "      <target port='0'/>\n    </serial>\n",
         p->console_log);
    if (cfg->vnc)
        emit(out, "    <graphics type='vnc' autoport='yes' listen='%s'/>\n", cfg->graphics_listen);
    if (cfg->spice)
        emit(out, "    <graphics type='spice' autoport='yes' listen='%s'/>\n",
             cfg->graphics_listen);
    /* No graphics, no display device (libvirt 9.0 rejects <graphics type='none'/>). */
    emit(out, "    <video>\n      <model type='%s'/>\n    </video>\n",
         cfg->vnc || cfg->spice ? "vga" : "none");
    emit(out, "    <memballoon model='virtio'/>\n  </devices>\n");
}

nph_status lv_domain_xml(const struct lv_config *cfg, const struct nph_instance *inst,
                         const struct nph_flavor *flavor, const struct lv_plan *plan,
                         nph_buffer *out, nph_error *err)
{
    if (!flavor || !flavor->vcpus || !flavor->memory_mb)
        return nph_error_set(err, NPH_ERR_INVALID,
                             "instance %s: a flavor with vCPUs and memory is required", inst->uuid);
    char mem[32], vcpus[16];
    snprintf(mem, sizeof(mem), "%llu", (unsigned long long)flavor->memory_mb);
    snprintf(vcpus, sizeof(vcpus), "%u", flavor->vcpus);
    emit(out, "<domain type='%s'>\n  <name>nephele-%s</name>\n  <uuid>%s</uuid>\n", cfg->virt_type,
         inst->uuid, inst->uuid);
    if (inst->name && *inst->name)
        emit(out, "  <title>%s</title>\n", inst->name);
    emit_metadata(out, inst, flavor);
    emit(out, "  <memory unit='MiB'>%s</memory>\n  <vcpu>%s</vcpu>\n", mem, vcpus);
    emit_os(out, cfg, plan);
    emit_devices(out, cfg, plan);
    emit(out, "</domain>\n");
    return out->len ? NPH_OK : nph_error_set(err, NPH_ERR_NO_MEMORY, "out of memory");
}

bool lv_xml_query(const char *xml, const char *xpath, char *out, size_t len)
{
    out[0] = '\0';
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return false;
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    xmlXPathObjectPtr res = ctx ? xmlXPathEvalExpression((const xmlChar *)xpath, ctx) : NULL;
    if (res) {
        xmlChar *s = xmlXPathCastToString(res);
        if (s)
            snprintf(out, len, "%s", (const char *)s);
        xmlFree(s);
    }
    xmlXPathFreeObject(res);
    xmlXPathFreeContext(ctx);
    xmlFreeDoc(doc);
    return true;
}
