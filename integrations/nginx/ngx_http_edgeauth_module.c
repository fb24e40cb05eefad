/*
 * ngx_http_edgeauth_module: bearer tokens verified by libedgeauth in nginx's
 * rewrite phase, with the challenges `edgeauth serve` answers (docs/integrations.md).
 *
 *   load_module modules/ngx_http_edgeauth_module.so;
 *   http {
 *     edgeauth_config /etc/edgeauth/verifier.yaml;
 *     server {
 *       location /mcp {
 *         edgeauth on;
 *         edgeauth_require "scope:notes:read";
 *         edgeauth_resource_metadata https://mcp.example.com/.well-known/oauth-protected-resource/mcp;
 *         proxy_set_header X-EdgeAuth-User $edgeauth_user;
 *         proxy_pass http://127.0.0.1:9000;
 *       }
 *     }
 *   }
 *
 * The verifier is made in each worker after nginx forks (init_process), never in
 * the master: the library starts threads, which do not survive fork(). A reload
 * starts new workers, which read the configuration file again. Verification never
 * blocks the worker: a token naming a key not downloaded yet is answered 503 with
 * `Retry-After` while the library fetches the keys on a thread of its own; the
 * client's retry then verifies with them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <edgeauth.h>

typedef struct {
    ngx_str_t config;               /* edgeauth_config: the verifier's configuration file */
    edgeauth_verifier *verifier;    /* made in each worker */
    ngx_int_t token_index;          /* the hidden variable that keeps a removed token */
} ngx_http_edgeauth_main_conf_t;

typedef struct {
    ngx_flag_t enable;              /* edgeauth on|off */
    ngx_str_t requirement;          /* edgeauth_require "scope:… role:… permission:…" */
    ngx_str_t resource_metadata;    /* edgeauth_resource_metadata URL, for the challenge */
    ngx_flag_t strip_authorization; /* edgeauth_strip_authorization on|off (default on) */
} ngx_http_edgeauth_loc_conf_t;

/* What the variables read: the verified identity, or the reason it was refused; and the
 * location whose requirement the token met. */
typedef struct {
    void *checked;
    ngx_str_t user;
    ngx_str_t email;
    ngx_str_t roles;
    ngx_str_t scopes;
    ngx_str_t reason;
} ngx_http_edgeauth_ctx_t;

static ngx_int_t ngx_http_edgeauth_add_variables(ngx_conf_t *cf);
static void *ngx_http_edgeauth_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_edgeauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_edgeauth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_edgeauth_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_edgeauth_init_process(ngx_cycle_t *cycle);
static void ngx_http_edgeauth_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_edgeauth_commands[] = {
    { ngx_string("edgeauth_config"), NGX_HTTP_MAIN_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET, offsetof(ngx_http_edgeauth_main_conf_t, config), NULL },
    { ngx_string("edgeauth"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG, ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_edgeauth_loc_conf_t, enable), NULL },
    { ngx_string("edgeauth_require"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1, ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_edgeauth_loc_conf_t, requirement), NULL },
    { ngx_string("edgeauth_resource_metadata"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_TAKE1,
      ngx_conf_set_str_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_edgeauth_loc_conf_t, resource_metadata), NULL },
    { ngx_string("edgeauth_strip_authorization"), NGX_HTTP_MAIN_CONF | NGX_HTTP_SRV_CONF | NGX_HTTP_LOC_CONF | NGX_CONF_FLAG,
      ngx_conf_set_flag_slot, NGX_HTTP_LOC_CONF_OFFSET, offsetof(ngx_http_edgeauth_loc_conf_t, strip_authorization), NULL },
    ngx_null_command
};

static ngx_http_module_t ngx_http_edgeauth_module_ctx = {
    ngx_http_edgeauth_add_variables, ngx_http_edgeauth_init,
    ngx_http_edgeauth_create_main_conf, NULL,
    NULL, NULL,
    ngx_http_edgeauth_create_loc_conf, ngx_http_edgeauth_merge_loc_conf
};

ngx_module_t ngx_http_edgeauth_module = {
    NGX_MODULE_V1,
    &ngx_http_edgeauth_module_ctx, ngx_http_edgeauth_commands, NGX_HTTP_MODULE,
    NULL, NULL, ngx_http_edgeauth_init_process, NULL, NULL, ngx_http_edgeauth_exit_process, NULL,
    NGX_MODULE_V1_PADDING
};

/* ---- configuration ------------------------------------------------------ */

static void *ngx_http_edgeauth_create_main_conf(ngx_conf_t *cf) {
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeauth_main_conf_t));
}

static void *ngx_http_edgeauth_create_loc_conf(ngx_conf_t *cf) {
    ngx_http_edgeauth_loc_conf_t *conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_edgeauth_loc_conf_t));
    if (conf == NULL) return NULL;
    conf->enable = NGX_CONF_UNSET;
    conf->strip_authorization = NGX_CONF_UNSET;
    return conf;
}

static char *ngx_http_edgeauth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child) {
    ngx_http_edgeauth_loc_conf_t *prev = parent, *conf = child;
    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_value(conf->strip_authorization, prev->strip_authorization, 1);
    ngx_conf_merge_str_value(conf->requirement, prev->requirement, "");
    ngx_conf_merge_str_value(conf->resource_metadata, prev->resource_metadata, "");
    /* The words are checked here, so a typo stops `nginx -t` instead of failing requests. */
    u_char *word = conf->requirement.data, *end = word + conf->requirement.len;
    while (word < end) {
        u_char *stop = word;
        while (stop < end && *stop != ' ') stop++;
        size_t length = stop - word;
        if (length > 0
            && !(length > 6 && ngx_strncmp(word, "scope:", 6) == 0)
            && !(length > 5 && ngx_strncmp(word, "role:", 5) == 0)
            && !(length > 11 && ngx_strncmp(word, "permission:", 11) == 0)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "edgeauth_require: \"%*s\" is not scope:NAME, role:NAME or permission:NAME", length, word);
            return NGX_CONF_ERROR;
        }
        word = stop + 1;
    }
    if (conf->enable && conf->resource_metadata.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "\"edgeauth on\" needs edgeauth_resource_metadata (the URL of the protected-resource metadata)");
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

/* ---- the worker's verifier ---------------------------------------------- */

static ngx_int_t ngx_http_edgeauth_init_process(ngx_cycle_t *cycle) {
    ngx_http_edgeauth_main_conf_t *main = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_edgeauth_module);
    if (main == NULL || main->config.len == 0) return NGX_OK;
    /* A NUL-terminated copy: the configuration's strings are not. */
    char *path = ngx_pnalloc(cycle->pool, main->config.len + 1);
    if (path == NULL) return NGX_ERROR;
    ngx_memcpy(path, main->config.data, main->config.len);
    path[main->config.len] = '\0';
    char *error = NULL;
    int32_t status = edgeauth_verifier_new_from_file(path, &main->verifier, &error);
    if (status != EDGEAUTH_OK) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0, "edgeauth: %s: %s", edgeauth_status_string(status), error ? error : "");
        edgeauth_string_free(error);
        return NGX_ERROR;
    }
    return NGX_OK;
}

static void ngx_http_edgeauth_exit_process(ngx_cycle_t *cycle) {
    ngx_http_edgeauth_main_conf_t *main = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_edgeauth_module);
    if (main != NULL && main->verifier != NULL) {
        edgeauth_verifier_free(main->verifier);
        main->verifier = NULL;
    }
}

/* ---- answers ------------------------------------------------------------ */

/* Adds `WWW-Authenticate` (the library's challenge) and returns `status`. */
static ngx_int_t ngx_http_edgeauth_refuse(ngx_http_request_t *r, ngx_http_edgeauth_loc_conf_t *conf, ngx_int_t status, int32_t kind, const char *scopes) {
    char metadata[2048];
    if (conf->resource_metadata.len >= sizeof metadata) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_memcpy(metadata, conf->resource_metadata.data, conf->resource_metadata.len);
    metadata[conf->resource_metadata.len] = '\0';
    char *challenge = NULL;
    if (edgeauth_challenge(kind, metadata, scopes, &challenge) != EDGEAUTH_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    size_t length = ngx_strlen(challenge);
    u_char *value = ngx_pnalloc(r->pool, length);
    if (value == NULL) {
        edgeauth_string_free(challenge);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(value, challenge, length);
    edgeauth_string_free(challenge);
    ngx_table_elt_t *header = ngx_list_push(&r->headers_out.headers);
    if (header == NULL) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    header->hash = 1;
#if nginx_version >= 1023000
    header->next = NULL;
#endif
    ngx_str_set(&header->key, "WWW-Authenticate");
    header->value.data = value;
    header->value.len = length;
    r->headers_out.www_authenticate = header;
    return status;
}

/* The words of the location's requirement as a NUL-terminated copy (NULL: none). */
static const char *ngx_http_edgeauth_scopes_of(ngx_http_request_t *r, ngx_http_edgeauth_loc_conf_t *conf) {
    /* The challenge of a request without a token names the scopes the location needs. */
    if (conf->requirement.len == 0) return NULL;
    u_char *copy = ngx_pnalloc(r->pool, conf->requirement.len + 1);
    if (copy == NULL) return NULL;
    size_t out = 0;
    u_char *word = conf->requirement.data, *end = word + conf->requirement.len;
    while (word < end) {
        u_char *stop = word;
        while (stop < end && *stop != ' ') stop++;
        if (stop - word > 6 && ngx_strncmp(word, "scope:", 6) == 0) {
            if (out > 0) copy[out++] = ' ';
            ngx_memcpy(copy + out, word + 6, stop - word - 6);
            out += stop - word - 6;
        }
        word = stop + 1;
    }
    copy[out] = '\0';
    return out > 0 ? (const char *)copy : NULL;
}

/* A list of the identity ("a,b") into the request's pool. */
typedef size_t (*ngx_http_edgeauth_count_f)(const edgeauth_identity *);
typedef const char *(*ngx_http_edgeauth_item_f)(const edgeauth_identity *, size_t, size_t *);

static ngx_int_t ngx_http_edgeauth_list(ngx_http_request_t *r, const edgeauth_identity *identity, ngx_http_edgeauth_count_f count,
                                        ngx_http_edgeauth_item_f item, ngx_str_t *out) {
    size_t n = count(identity), total = 0, length;
    for (size_t i = 0; i < n; i++) { item(identity, i, &length); total += length + 1; }
    out->len = 0;
    if (total == 0) return NGX_OK;
    out->data = ngx_pnalloc(r->pool, total);
    if (out->data == NULL) return NGX_ERROR;
    for (size_t i = 0; i < n; i++) {
        const char *value = item(identity, i, &length);
        if (i > 0) out->data[out->len++] = ',';
        ngx_memcpy(out->data + out->len, value, length);
        out->len += length;
    }
    return NGX_OK;
}

static ngx_int_t ngx_http_edgeauth_copy(ngx_http_request_t *r, const char *value, size_t length, ngx_str_t *out) {
    out->len = 0;
    if (value == NULL || length == 0) return NGX_OK;
    out->data = ngx_pnalloc(r->pool, length);
    if (out->data == NULL) return NGX_ERROR;
    ngx_memcpy(out->data, value, length);
    out->len = length;
    return NGX_OK;
}

/* Removes a request header from the list every module reads (proxy_pass, fastcgi_pass, …).
 * The part holding it is split around it rather than shifted: the request keeps pointers
 * to other elements (Host, …). Parts are never left empty (readers of a list assume they
 * are not). When the split part was the list's last, the list's part size becomes the
 * tail's length, so that the next push starts a new part instead of writing past the tail. */
static ngx_int_t ngx_http_edgeauth_remove_header(ngx_http_request_t *r, ngx_table_elt_t *header) {
    ngx_list_t *list = &r->headers_in.headers;
    for (ngx_list_part_t *part = &list->part; part != NULL; part = part->next) {
        ngx_table_elt_t *elements = part->elts;
        for (ngx_uint_t i = 0; i < part->nelts; i++) {
            if (&elements[i] != header) continue;
            if (i == part->nelts - 1) {
                part->nelts--;
                return NGX_OK;
            }
            ngx_list_part_t *tail = ngx_palloc(r->pool, sizeof(ngx_list_part_t));
            if (tail == NULL) return NGX_ERROR;
            tail->elts = &elements[i + 1];
            tail->nelts = part->nelts - i - 1;
            tail->next = part->next;
            part->nelts = i;
            part->next = tail;
            if (list->last == part) {
                list->last = tail;
                list->nalloc = tail->nelts;
            }
            return NGX_OK;
        }
    }
    return NGX_OK;
}

/* ---- the check ------------------------------------------------------------ */

/* NGX_DECLINED lets the request go on; a status answers it. */
static ngx_int_t ngx_http_edgeauth_handler(ngx_http_request_t *r) {
    ngx_http_edgeauth_loc_conf_t *conf = ngx_http_get_module_loc_conf(r, ngx_http_edgeauth_module);
    if (!conf->enable || r != r->main) return NGX_DECLINED;
    /* Each location's requirement is checked: `rewrite … last` to another location checks
     * again (its context stays), and so does an internal redirect (its context is cleared). */
    ngx_http_edgeauth_ctx_t *ctx = ngx_http_get_module_ctx(r, ngx_http_edgeauth_module);
    if (ctx != NULL && ctx->checked == conf) return NGX_DECLINED;
    ngx_http_edgeauth_main_conf_t *main = ngx_http_get_module_main_conf(r, ngx_http_edgeauth_module);
    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_edgeauth_ctx_t));
        if (ctx == NULL) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ngx_http_set_ctx(r, ctx, ngx_http_edgeauth_module);
    }
    if (main->verifier == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "edgeauth: \"edgeauth on\" without edgeauth_config");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A CORS preflight carries no credentials. */
    if (r->method == NGX_HTTP_OPTIONS) return NGX_DECLINED;

    ngx_table_elt_t *authorization = r->headers_in.authorization;
    u_char *token = NULL;
    size_t token_length = 0;
    if (authorization != NULL && authorization->value.len > 7 && ngx_strncasecmp(authorization->value.data, (u_char *)"bearer ", 7) == 0) {
        token = authorization->value.data + 7;
        token_length = authorization->value.len - 7;
        while (token_length > 0 && *token == ' ') { token++; token_length--; }
    }
    /* A token this request already showed, before its header was removed. */
    ngx_http_variable_value_t *kept = &r->variables[main->token_index];
    if (authorization == NULL && kept->valid && kept->len > 0) {
        token = kept->data;
        token_length = kept->len;
    }
    if (token_length == 0) {
        ngx_str_set(&ctx->reason, "missing_token");
        return ngx_http_edgeauth_refuse(r, conf, NGX_HTTP_UNAUTHORIZED, EDGEAUTH_CHALLENGE_MISSING_TOKEN, ngx_http_edgeauth_scopes_of(r, conf));
    }

    int32_t verdict = -1;
    edgeauth_identity *identity = NULL;
    bool refreshing = false;
    if (edgeauth_verify_nonblocking(main->verifier, token, token_length, 0, &verdict, &identity, NULL, NULL, &refreshing) != EDGEAUTH_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (verdict != EDGEAUTH_VERDICT_VALID) {
        const char *code = edgeauth_verdict_string(verdict);
        ngx_http_edgeauth_copy(r, code, ngx_strlen(code), &ctx->reason);
        if (verdict == EDGEAUTH_VERDICT_KEYS_UNAVAILABLE) {
            /* The provider's keys, not the token: a retry verifies with the keys being fetched. */
            ngx_table_elt_t *retry = ngx_list_push(&r->headers_out.headers);
            if (retry != NULL) {
                retry->hash = 1;
#if nginx_version >= 1023000
                retry->next = NULL;
#endif
                ngx_str_set(&retry->key, "Retry-After");
                ngx_str_set(&retry->value, "5");
            }
            return NGX_HTTP_SERVICE_UNAVAILABLE;
        }
        return ngx_http_edgeauth_refuse(r, conf, NGX_HTTP_UNAUTHORIZED, verdict, ngx_http_edgeauth_scopes_of(r, conf));
    }

    ngx_int_t answer = NGX_DECLINED;
    int32_t result = EDGEAUTH_REQUIREMENT_MET;
    char *scopes = NULL;
    if (conf->requirement.len > 0
        && edgeauth_identity_check(identity, conf->requirement.data, conf->requirement.len, &result, &scopes) != EDGEAUTH_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "edgeauth: edgeauth_require \"%V\" is not scope:, role: and permission: words", &conf->requirement);
        answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
    } else if (result == EDGEAUTH_REQUIREMENT_MISSING_SCOPE) {
        ngx_str_set(&ctx->reason, "insufficient_scope");
        answer = ngx_http_edgeauth_refuse(r, conf, NGX_HTTP_FORBIDDEN, EDGEAUTH_CHALLENGE_INSUFFICIENT_SCOPE, scopes);
    } else if (result == EDGEAUTH_REQUIREMENT_FORBIDDEN) {
        ngx_str_set(&ctx->reason, "forbidden");
        answer = NGX_HTTP_FORBIDDEN;
    } else {
        size_t length = 0;
        const char *value = edgeauth_identity_subject(identity, &length);
        if (ngx_http_edgeauth_copy(r, value, length, &ctx->user) != NGX_OK) answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
        value = edgeauth_identity_email(identity, &length);
        if (ngx_http_edgeauth_copy(r, value, value ? length : 0, &ctx->email) != NGX_OK) answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
        if (ngx_http_edgeauth_list(r, identity, edgeauth_identity_role_count, edgeauth_identity_role, &ctx->roles) != NGX_OK
            || ngx_http_edgeauth_list(r, identity, edgeauth_identity_scope_count, edgeauth_identity_scope, &ctx->scopes) != NGX_OK) {
            answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ctx->checked = conf;
        if (conf->strip_authorization && authorization != NULL) {
            /* The token is for this resource, never for what it proxies to (R7). It stays in a
             * variable no configuration can name, for the locations this request goes on to. */
            kept->data = token;
            kept->len = token_length;
            kept->valid = 1;
            kept->no_cacheable = 0;
            kept->not_found = 0;
            if (ngx_http_edgeauth_remove_header(r, authorization) != NGX_OK) answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
            r->headers_in.authorization = NULL;
        }
    }
    edgeauth_string_free(scopes);
    edgeauth_identity_free(identity);
    return answer;
}

/* ---- variables ---------------------------------------------------------- */

static ngx_int_t ngx_http_edgeauth_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data) {
    ngx_http_edgeauth_ctx_t *ctx = ngx_http_get_module_ctx(r->main, ngx_http_edgeauth_module);
    ngx_str_t *value = ctx ? (ngx_str_t *)((u_char *)ctx + data) : NULL;
    if (value == NULL || value->len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = value->data;
    v->len = value->len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    return NGX_OK;
}

/* $edgeauth_cache_hits: the verdicts this worker's verifier found in the shared cache
 * (verified by another worker or process), for logs and tests. */
static ngx_int_t ngx_http_edgeauth_cache_hits_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data) {
    (void)data;
    ngx_http_edgeauth_main_conf_t *main = ngx_http_get_module_main_conf(r, ngx_http_edgeauth_module);
    uint64_t hits = 0;
    if (main->verifier == NULL || edgeauth_verifier_cache_statistic(main->verifier, EDGEAUTH_CACHE_HITS, &hits) != EDGEAUTH_OK) {
        v->not_found = 1;
        return NGX_OK;
    }
    u_char *text = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (text == NULL) return NGX_ERROR;
    v->len = ngx_sprintf(text, "%uL", hits) - text;
    v->data = text;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

static ngx_http_variable_t ngx_http_edgeauth_variables[] = {
    { ngx_string("edgeauth_cache_hits"), NULL, ngx_http_edgeauth_cache_hits_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("edgeauth_user"), NULL, ngx_http_edgeauth_variable, offsetof(ngx_http_edgeauth_ctx_t, user), NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("edgeauth_email"), NULL, ngx_http_edgeauth_variable, offsetof(ngx_http_edgeauth_ctx_t, email), NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("edgeauth_roles"), NULL, ngx_http_edgeauth_variable, offsetof(ngx_http_edgeauth_ctx_t, roles), NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("edgeauth_scopes"), NULL, ngx_http_edgeauth_variable, offsetof(ngx_http_edgeauth_ctx_t, scopes), NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("edgeauth_reason"), NULL, ngx_http_edgeauth_variable, offsetof(ngx_http_edgeauth_ctx_t, reason), NGX_HTTP_VAR_NOCACHEABLE, 0 },
    ngx_http_null_variable
};

/* The hidden variable's value is set by the check itself, never computed. */
static ngx_int_t ngx_http_edgeauth_kept_token_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data) {
    (void)r;
    (void)data;
    v->not_found = 1;
    return NGX_OK;
}

static ngx_int_t ngx_http_edgeauth_add_variables(ngx_conf_t *cf) {
    for (ngx_http_variable_t *v = ngx_http_edgeauth_variables; v->name.len; v++) {
        ngx_http_variable_t *variable = ngx_http_add_variable(cf, &v->name, v->flags);
        if (variable == NULL) return NGX_ERROR;
        variable->get_handler = v->get_handler;
        variable->data = v->data;
    }
    /* Indexed, so its value lives in the request (internal redirects keep it); not hashed, so no
     * configuration can read it by name. */
    ngx_str_t name = ngx_string("edgeauth_kept_token");
    ngx_http_variable_t *kept = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOHASH);
    if (kept == NULL) return NGX_ERROR;
    kept->get_handler = ngx_http_edgeauth_kept_token_variable;
    ngx_http_edgeauth_main_conf_t *main = ngx_http_conf_get_module_main_conf(cf, ngx_http_edgeauth_module);
    main->token_index = ngx_http_get_variable_index(cf, &name);
    return main->token_index == NGX_ERROR ? NGX_ERROR : NGX_OK;
}

static ngx_int_t ngx_http_edgeauth_init(ngx_conf_t *cf) {
    ngx_http_core_main_conf_t *core = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    /* The rewrite phase, not the access phase: `return` and `rewrite` answer in the rewrite
     * phase, before any access check. Handlers registered later run first in a phase, and
     * this module's come after nginx's own rewrite module: the token is checked before
     * the location's `return`. */
    ngx_http_handler_pt *handler = ngx_array_push(&core->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (handler == NULL) return NGX_ERROR;
    *handler = ngx_http_edgeauth_handler;
    return NGX_OK;
}
