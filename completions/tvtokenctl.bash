# SPDX-License-Identifier: MIT
# bash completion for tvtokenctl(1): commands, options, the values of
# --format, --socket paths, --env variable names, the NAMEs of the tvtokend@NAME
# instances that have a socket under /run/tvtokend, and exec's command line.
# Needs nothing but bash; uses bash-completion's _command_offset for exec's
# command when bash-completion is loaded.

_tvtokenctl_commands="token watch status rejected is-valid exec"
_tvtokenctl_options="--socket --instance --json --format= --md --wait --wait= --min-remaining=
--verbose --env --help --version"

# Where the instances' sockets are; a variable so that tests can point it elsewhere.
: "${_tvtokenctl_rundir:=/run/tvtokend}"

# The NAMEs of the instances whose socket exists now.
_tvtokenctl_instances()
{
	local sock name

	for sock in "$_tvtokenctl_rundir"/*/io.tvtokend.Broker; do
		[ -S "$sock" ] || continue
		name=${sock%/io.tvtokend.Broker}
		printf '%s\n' "${name##*/}"
	done
}

# Complete the value of option $1, the word under the cursor being $2.
_tvtokenctl_value()
{
	local IFS=$' \t\n'

	case $1 in
	--format)
		COMPREPLY=($(compgen -W 'text json prometheus' -- "$2"))
		;;
	--instance)
		COMPREPLY=($(compgen -W "$(_tvtokenctl_instances)" -- "$2"))
		;;
	--socket)
		IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$2"))
		compopt -o filenames 2>/dev/null
		;;
	--env)
		COMPREPLY=($(compgen -W "TRADOVATE_ACCESS_TOKEN TRADOVATE_MD_ACCESS_TOKEN" -- "$2"))
		;;
	*)
		COMPREPLY=()
		;;
	esac
}

_tvtokenctl()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev= opt i word cmd= dashdash= cmd_at=

	[ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()

	# "--format=pr" is one word, or three ("--format" "=" "pr") when '=' is in
	# COMP_WORDBREAKS, as it is by default.
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		_tvtokenctl_value "$opt" "${cur#*=}"
		if [[ $COMP_WORDBREAKS != *=* ]]; then
			COMPREPLY=("${COMPREPLY[@]/#/$opt=}")
		fi
		return 0
	fi
	if [[ $cur == = && $prev == --* ]]; then
		_tvtokenctl_value "$prev" ""
		return 0
	fi
	if [[ $prev == = && $COMP_CWORD -ge 2 && ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
		_tvtokenctl_value "${COMP_WORDS[COMP_CWORD - 2]}" "$cur"
		return 0
	fi

	# Find the command, and where exec's command line starts.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		# "--opt" "=" "value": the '=' and the value belong to the option.
		[ "$word" = = ] || [ "${COMP_WORDS[i - 1]}" = = ] && continue
		if [ "$cmd" = exec ] && { [ -n "$dashdash" ] || [[ $word != -* ]]; }; then
			cmd_at=$i
			break
		fi
		case $word in
		--) dashdash=1 ;;
		--socket | --instance | --env | --format | --min-remaining) ((i++)) ;;
		-*) ;;
		*) [ -z "$cmd" ] && cmd=$word ;;
		esac
	done

	if [ -n "$cmd_at" ]; then
		if declare -F _command_offset >/dev/null; then
			_command_offset "$cmd_at"
		elif [ "$cmd_at" -eq "$COMP_CWORD" ]; then
			COMPREPLY=($(compgen -c -- "$cur"))
		else
			COMPREPLY=($(compgen -f -- "$cur"))
		fi
		return 0
	fi

	case $prev in
	--socket | --instance | --env | --format | --min-remaining)
		_tvtokenctl_value "$prev" "$cur"
		return 0
		;;
	esac

	if [ "$cmd" = exec ] && { [ -n "$dashdash" ] || [[ $cur != -* ]]; }; then
		COMPREPLY=($(compgen -c -- "$cur"))
	elif [[ $cur == -* ]] || [ -n "$cmd" ]; then
		COMPREPLY=($(compgen -W "$_tvtokenctl_options" -- "$cur"))
		[ "${#COMPREPLY[@]}" -eq 1 ] && [[ ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
	else
		COMPREPLY=($(compgen -W "$_tvtokenctl_commands" -- "$cur"))
	fi
	return 0
}

complete -F _tvtokenctl tvtokenctl
